package ui

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func (u *UI) registerSegments() {
	u.mux.Handle("GET /segments", u.page(user.RoleViewer, u.segmentsList))
	u.mux.Handle("GET /segments/new", u.page(user.RoleManager, u.segmentNew))
	u.mux.Handle("POST /segments", u.action(user.RoleManager, u.segmentCreate))
	u.mux.Handle("GET /segments/{id}/edit", u.page(user.RoleManager, u.segmentEdit))
	u.mux.Handle("POST /segments/{id}", u.action(user.RoleManager, u.segmentUpdate))
	u.mux.Handle("POST /segments/{id}/delete", u.action(user.RoleManager, u.segmentDelete))
	u.mux.Handle("POST /segments/coverage/assign", u.action(user.RoleManager, u.coverageAssign))
}

// segmentRow is a segment with the ARR of its stored members and, when
// asked for, its live membership: the accounts whose current snapshot
// matches the rule now.
type segmentRow struct {
	segment.Segment
	ARR  float64
	Live int
}

// segmentsList shows the segments with their stored membership (as the
// latest recompute or save left it) and the coverage. ?live=1 also
// evaluates every rule on every account's snapshot now, which computes
// all the snapshots and so only runs when asked.
func (u *UI) segmentsList(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	now := time.Now()
	list, err := segment.List(ctx, u.db)
	if err != nil {
		return err
	}
	members, err := segment.MemberIDs(ctx, u.db)
	if err != nil {
		return err
	}
	book, err := coverage.LoadBook(ctx, u.db, now)
	if err != nil {
		return err
	}
	arr := make(map[string]float64, len(book.Accounts))
	for _, a := range book.Accounts {
		arr[a.AccountID] = a.ARR
	}
	rows := make([]segmentRow, len(list))
	for i, s := range list {
		rows[i].Segment = s
		for _, id := range members[s.ID] {
			rows[i].ARR += arr[id]
		}
	}
	live := rq.URL.Query().Get("live") == "1"
	if live {
		snaps, err := snapshot.All(ctx, u.db, now)
		if err != nil {
			return err
		}
		for i := range rows {
			ids, err := segment.Evaluate(rows[i].Segment, snaps)
			if err != nil {
				return err
			}
			rows[i].Live = len(ids)
		}
	}
	loads, err := coverage.WorkloadsOf(ctx, u.db, book)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "segments", rq.Loc.T("Segments"), map[string]any{
		"Segments": rows, "Live": live, "Currency": book.Currency, "Tiers": coverage.TierCounts(book), "Workloads": loads,
		"Strategies": coverage.Strategies, "CanEdit": user.AtLeast(rq.User.Role, user.RoleManager),
		"AccountLinks": u.routed("/accounts"),
	})
}

// segmentForm is the segment editor's data.
type segmentForm struct {
	New                         bool
	ID, Name, Description, Rule string
	Errors                      fieldErrors
}

func (u *UI) segmentNew(w http.ResponseWriter, rq *Request) error {
	return u.render(w, rq, http.StatusOK, "segment_edit", rq.Loc.T("New segment"), &segmentForm{New: true, Errors: fieldErrors{}})
}

// segmentOf is the segment of the request's {id}, or a 404.
func (u *UI) segmentOf(rq *Request) (segment.Segment, error) {
	s, err := segment.Get(rq.Context(), u.db, rq.PathValue("id"))
	return lookup(s, err, segment.ErrNotFound, rq.Loc.T("There is no segment %q.", rq.PathValue("id")))
}

func (u *UI) segmentEdit(w http.ResponseWriter, rq *Request) error {
	s, err := u.segmentOf(rq)
	if err != nil {
		return err
	}
	f := &segmentForm{ID: s.ID, Name: s.Name, Description: s.Description, Rule: s.Rule, Errors: fieldErrors{}}
	return u.render(w, rq, http.StatusOK, "segment_edit", rq.Loc.T("Edit segment %s", s.Name), f)
}

func (u *UI) segmentCreate(w http.ResponseWriter, rq *Request) error {
	f := &segmentForm{New: true, ID: strings.TrimSpace(rq.PostFormValue("segment_id")), Errors: fieldErrors{}}
	return u.saveSegment(w, rq, f)
}

func (u *UI) segmentUpdate(w http.ResponseWriter, rq *Request) error {
	s, err := u.segmentOf(rq)
	if err != nil {
		return err
	}
	return u.saveSegment(w, rq, &segmentForm{ID: s.ID, Errors: fieldErrors{}})
}

// saveSegment checks the form field by field (the rule again on the
// server), stores the segment, computes its membership now and records the
// change; or shows the form again with the messages (422).
func (u *UI) saveSegment(w http.ResponseWriter, rq *Request, f *segmentForm) error {
	ctx := rq.Context()
	f.Name, f.Description, f.Rule = strings.TrimSpace(rq.PostFormValue("name")), strings.TrimSpace(rq.PostFormValue("description")), rq.PostFormValue("rule")
	if err := segment.ValidID(f.ID); err != nil {
		f.Errors.add("segment_id", rq.Loc.T("Use lower-case letters, digits and _, starting with a letter (at most 63)."))
	}
	if f.Name == "" {
		f.Errors.add("name", rq.Loc.T("Required."))
	}
	if _, err := segment.Compile(f.Rule); err != nil {
		f.Errors.add("rule", ruleError(rq.Loc, err))
	}
	title := rq.Loc.T("New segment")
	if !f.New {
		title = rq.Loc.T("Edit segment %s", f.Name)
	}
	if len(f.Errors) > 0 {
		return u.render(w, rq, http.StatusUnprocessableEntity, "segment_edit", title, f)
	}
	now := time.Now().UTC().Truncate(time.Second)
	snaps, err := snapshot.All(ctx, u.db, now)
	if err != nil {
		return err
	}
	var joined, left int
	err = u.db.InTx(ctx, func(tx *sql.Tx) error {
		s := segment.Segment{ID: f.ID, Name: f.Name, Description: f.Description, Rule: f.Rule}
		before, after, j, l, err := segment.Save(ctx, tx, s, f.New, now, snaps)
		if err != nil {
			return err
		}
		joined, left = j, l
		var old any
		if before != nil {
			before.Members = 0 // the count is not part of the definition the audit log keeps
			old = *before
		}
		after.Members = 0
		return audit.Record(ctx, tx, actor(rq), changeAction(before == nil), "segment", f.ID, old, after)
	})
	if errors.Is(err, segment.ErrExists) {
		f.Errors.add("segment_id", rq.Loc.T("A segment with this id exists; choose another id."))
		return u.render(w, rq, http.StatusUnprocessableEntity, "segment_edit", title, f)
	}
	if err != nil {
		return err
	}
	redirect(w, rq.Request, "/segments", rq.Loc.T("Segment %s saved: %d accounts joined, %d left.", f.Name, joined, left))
	return nil
}

func (u *UI) segmentDelete(w http.ResponseWriter, rq *Request) error {
	s, err := u.segmentOf(rq)
	if err != nil {
		return err
	}
	s.Members = 0 // the count is not part of the definition the audit log keeps
	return u.deleteAndRedirect(w, rq, "segment", s.ID, s, segment.Delete, "/segments", rq.Loc.T("Segment %s deleted.", s.Name))
}

// coverageAssign shares out the unassigned customers (or a segment's
// members) among the CSMs; coverage.Assign records each owner change.
func (u *UI) coverageAssign(w http.ResponseWriter, rq *Request) error {
	o := coverage.AssignOptions{Strategy: rq.PostFormValue("strategy"), SegmentID: rq.PostFormValue("segment"),
		At: time.Now(), Actor: actor(rq)}
	var p coverage.Plan
	err := u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		var err error
		p, err = coverage.Assign(rq.Context(), tx, o)
		return err
	})
	switch {
	case errors.Is(err, coverage.ErrBadAssign), errors.Is(err, coverage.ErrNotAssignable), errors.Is(err, segment.ErrNotFound):
		return Errorf(http.StatusUnprocessableEntity, rq.Loc.T("The accounts were not assigned: %s", err.Error()))
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/segments", rq.Loc.T("%d accounts assigned.", len(p.Assignments)))
	return nil
}
