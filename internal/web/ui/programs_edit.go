package ui

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// programForm is the program editor's data: the fields as typed (so a
// wrong number comes back as it was) and the messages beside them.
type programForm struct {
	New                                bool
	ID, Name, Goal, Hypothesis, Action string
	SegmentID, PlaybookID              string
	StartDate, PreDays, PostDays       string
	Measures                           []outcomeSlot
	Errors                             fieldErrors
	Actions, Kinds                     []option
	Segments                           []segment.Segment
	Playbooks                          []playbook.Playbook
	Features                           []string
	DefaultPreDays, DefaultPostDays    int
}

// outcomeSlot is one outcome measure slot; a slot without a kind is left
// out, and there is always an empty one to add a measure.
type outcomeSlot struct {
	Index               int
	Kind, Feature, Days string
	Errors              fieldErrors
}

// Number is the slot's number as people count, from 1.
func (m outcomeSlot) Number() int { return m.Index + 1 }

// outcomeSlots bounds the measure slots read from a form (Validate allows 20).
const outcomeSlots = 20

// newProgramForm is an empty editor with its choices: the actions and
// measure kinds, the segments, the playbooks and the key features (the
// features a measure can be about).
func (u *UI) newProgramForm(rq *Request) (*programForm, error) {
	ctx := rq.Context()
	segs, err := segment.List(ctx, u.db)
	if err != nil {
		return nil, err
	}
	pbs, err := playbook.List(ctx, u.db)
	if err != nil {
		return nil, err
	}
	r, err := snapshot.NewReader(ctx, u.db, time.Now())
	if err != nil {
		return nil, err
	}
	f := &programForm{Errors: fieldErrors{}, Segments: segs, Playbooks: pbs, Features: r.KeyFeatures(),
		DefaultPreDays: program.DefaultPreDays, DefaultPostDays: program.DefaultPostDays}
	for _, a := range program.Actions {
		f.Actions = append(f.Actions, option{Value: a, Label: actionLabel(rq.Loc, a)})
	}
	for _, k := range program.MeasureKinds {
		f.Kinds = append(f.Kinds, option{Value: k, Label: measureKindLabel(rq.Loc, k)})
	}
	return f, nil
}

// measureKindLabel names a kind of measure in the editor.
func measureKindLabel(l *Locale, kind string) string {
	switch kind {
	case program.MeasureAdoption:
		return l.T("Adoption of a feature (share of accounts using it)")
	case program.MeasureEvents:
		return l.T("Events of a feature per account per 30 days")
	case program.MeasureHealth:
		return l.T("Health score")
	case program.MeasureChurn:
		return l.T("Churn within N days of the start")
	}
	return l.T("Expansion (ARR up over the post-period)")
}

// addSlot appends the empty measure slot.
func (f *programForm) addSlot() {
	f.Measures = append(f.Measures, outcomeSlot{Index: len(f.Measures), Errors: fieldErrors{}})
}

// HasErrors reports whether the form has any message, its measures' included.
func (f *programForm) HasErrors() bool {
	for _, m := range f.Measures {
		if len(m.Errors) > 0 {
			return true
		}
	}
	return len(f.Errors) > 0
}

// fill puts a stored program into the editor.
func (f *programForm) fill(p program.Program) {
	f.ID, f.Name, f.Goal, f.Hypothesis, f.Action = p.ID, p.Name, p.Goal, p.Hypothesis, p.Action
	f.SegmentID, f.PlaybookID, f.StartDate = p.SegmentID, p.PlaybookID, p.Start.Format(time.DateOnly)
	f.PreDays, f.PostDays = strconv.Itoa(p.PreDays), strconv.Itoa(p.PostDays)
	for i, m := range p.Measures {
		mf := outcomeSlot{Index: i, Kind: m.Kind, Feature: m.Feature, Errors: fieldErrors{}}
		if m.Days != 0 {
			mf.Days = strconv.Itoa(m.Days)
		}
		f.Measures = append(f.Measures, mf)
	}
	f.addSlot()
}

// read takes the posted fields into f and returns the program they
// describe and, for each of its measures, the slot it came from. Only a
// measure's own fields are kept (a feature for adoption and events, days
// for churn): the others may hold what was typed before the kind changed.
func (f *programForm) read(rq *Request) (program.Program, []int) {
	v := func(name string) string { return strings.TrimSpace(rq.PostFormValue(name)) }
	f.Name, f.Goal, f.Hypothesis, f.Action = v("name"), v("goal"), v("hypothesis"), v("action")
	f.SegmentID, f.PlaybookID, f.StartDate, f.PreDays, f.PostDays = v("segment_id"), v("playbook_id"), v("start_date"), v("pre_days"), v("post_days")
	p := program.Program{ID: f.ID, Name: f.Name, Goal: f.Goal, Hypothesis: f.Hypothesis, Action: f.Action,
		SegmentID: f.SegmentID, PlaybookID: f.PlaybookID,
		PreDays:  formInt(rq, f.Errors, "pre_days", "pre_days"),
		PostDays: formInt(rq, f.Errors, "post_days", "post_days")}
	if d := formDate(rq, f.Errors, "start_date", "start_date"); d != nil {
		p.Start = *d
	}
	var slots []int
	n, _ := strconv.Atoi(rq.PostFormValue("measures"))
	for i := range min(max(n, 0), outcomeSlots) {
		k := func(name string) string { return v(fmt.Sprintf("m%d.%s", i, name)) }
		mf := outcomeSlot{Index: len(f.Measures), Kind: k("kind"), Feature: k("feature"), Days: k("days"), Errors: fieldErrors{}}
		if mf.Kind == "" {
			continue
		}
		m := program.OutcomeMeasure{Kind: mf.Kind}
		switch mf.Kind {
		case program.MeasureAdoption, program.MeasureEvents:
			m.Feature = mf.Feature
		case program.MeasureChurn:
			m.Days = formInt(rq, mf.Errors, fmt.Sprintf("m%d.days", i), "days")
		}
		f.Measures = append(f.Measures, mf)
		slots = append(slots, mf.Index)
		p.Measures = append(p.Measures, m)
	}
	f.addSlot()
	return p, slots
}

var measureField = regexp.MustCompile(`^measures\[(\d+)\]\.(.*)$`)

// place puts the package's validation error beside its field: a measure's
// in its slot, the rest by field name (the API's JSON names), in l's
// language.
func (f *programForm) place(l *Locale, ve *program.ValidationError, slots []int) {
	msg := l.Reason(ve.Format, ve.Args, ve.Message)
	if m := measureField.FindStringSubmatch(ve.Field); m != nil {
		if i, _ := strconv.Atoi(m[1]); i < len(slots) {
			f.Measures[slots[i]].Errors.add(m[2], msg)
			return
		}
	}
	f.Errors.add(ve.Field, msg)
}

func (u *UI) programNew(w http.ResponseWriter, rq *Request) error {
	f, err := u.newProgramForm(rq)
	if err != nil {
		return err
	}
	f.New, f.Action, f.StartDate = true, program.ActionSeminar, time.Now().UTC().Format(time.DateOnly)
	f.PreDays, f.PostDays = strconv.Itoa(program.DefaultPreDays), strconv.Itoa(program.DefaultPostDays)
	f.addSlot()
	return u.renderProgramForm(w, rq, http.StatusOK, f)
}

func (u *UI) programEdit(w http.ResponseWriter, rq *Request) error {
	p, f, err := u.storedProgramForm(rq)
	if err != nil {
		return err
	}
	f.fill(p)
	return u.renderProgramForm(w, rq, http.StatusOK, f)
}

// storedProgramForm is the request's program ({id}, or a 404) and an
// empty editor for it.
func (u *UI) storedProgramForm(rq *Request) (program.Program, *programForm, error) {
	p, err := u.programOf(rq)
	if err != nil {
		return p, nil, err
	}
	f, err := u.newProgramForm(rq)
	if err != nil {
		return p, nil, err
	}
	f.ID = p.ID
	return p, f, nil
}

func (u *UI) renderProgramForm(w http.ResponseWriter, rq *Request, status int, f *programForm) error {
	// A measure may be about a feature that is no longer a key feature,
	// and the segment or playbook may be gone: each stays a choice, or
	// saving the form would drop it without a word.
	for _, m := range f.Measures {
		if m.Feature != "" && !slices.Contains(f.Features, m.Feature) {
			f.Features = append(f.Features, m.Feature)
		}
	}
	if id := f.SegmentID; id != "" && !slices.ContainsFunc(f.Segments, func(s segment.Segment) bool { return s.ID == id }) {
		f.Segments = append(f.Segments, segment.Segment{ID: id, Name: id})
	}
	if id := f.PlaybookID; id != "" && !slices.ContainsFunc(f.Playbooks, func(p playbook.Playbook) bool { return p.ID == id }) {
		f.Playbooks = append(f.Playbooks, playbook.Playbook{ID: id, Name: id})
	}
	title := rq.Loc.T("New program")
	if !f.New {
		title = rq.Loc.T("Edit program %s", f.Name)
	}
	return u.render(w, rq, status, "programs_edit", title, f)
}

// programOf is the program of the request's {id}, or a 404.
func (u *UI) programOf(rq *Request) (program.Program, error) {
	p, err := program.Get(rq.Context(), u.db, rq.PathValue("id"))
	return lookup(p, err, program.ErrNotFound, rq.Loc.T("There is no program %s.", rq.PathValue("id")))
}

func (u *UI) programCreate(w http.ResponseWriter, rq *Request) error {
	f, err := u.newProgramForm(rq)
	if err != nil {
		return err
	}
	f.New, f.ID = true, strings.TrimSpace(rq.PostFormValue("id"))
	return u.saveProgram(w, rq, f)
}

func (u *UI) programUpdate(w http.ResponseWriter, rq *Request) error {
	_, f, err := u.storedProgramForm(rq)
	if err != nil {
		return err
	}
	return u.saveProgram(w, rq, f)
}

// saveProgram stores the form's program with an audit entry, validated
// by the package as the API's are, or shows the form again with the
// problem beside its field (422).
func (u *UI) saveProgram(w http.ResponseWriter, rq *Request, f *programForm) error {
	p, slots := f.read(rq)
	if f.HasErrors() {
		return u.renderProgramForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	ctx := rq.Context()
	p.CreatedBy = rq.User.Email
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		if f.New {
			out, err := program.Create(ctx, tx, p, time.Now())
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "program", out.ID, nil, out)
		}
		before, err := program.Get(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		out, err := program.Update(ctx, tx, p, time.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "program", out.ID, before, out)
	})
	var ve *program.ValidationError
	switch {
	case errors.As(err, &ve):
		f.place(rq.Loc, ve, slots)
		return u.renderProgramForm(w, rq, http.StatusUnprocessableEntity, f)
	case errors.Is(err, program.ErrExists):
		f.Errors.add("id", rq.Loc.T("A program with this id exists; choose another id."))
		return u.renderProgramForm(w, rq, http.StatusUnprocessableEntity, f)
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/programs/"+strings.TrimSpace(p.ID), rq.Loc.T("Program saved."))
	return nil
}

func (u *UI) programDelete(w http.ResponseWriter, rq *Request) error {
	p, err := u.programOf(rq)
	if err != nil {
		return err
	}
	return u.deleteAndRedirect(w, rq, "program", p.ID, p, program.Delete, "/programs", rq.Loc.T("Program %s deleted.", p.Name))
}
