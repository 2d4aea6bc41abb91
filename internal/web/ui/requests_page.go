package ui

import (
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// requestRow is a product request in words.
type requestRow struct {
	feedback.Request
	Category, State string
	Rank            int // the place in the ranking, from 1
}

func requestRowOf(l *Locale, r feedback.Request) requestRow {
	return requestRow{Request: r, Category: categoryLabel(l, r.Category), State: requestStatusLabel(l, r.Status)}
}

func (u *UI) requestsPage(w http.ResponseWriter, rq *Request) error {
	sort := rq.URL.Query().Get("sort")
	if sort != "arr" {
		sort = "count"
	}
	list, err := feedback.Rank(rq.Context(), u.db, feedback.RankOptions{Sort: sort})
	if err != nil {
		return err
	}
	cur, err := billing.ReportingCurrency(rq.Context(), u.db)
	if err != nil {
		return err
	}
	rows := make([]requestRow, len(list))
	for i, r := range list {
		rows[i] = requestRowOf(rq.Loc, r)
		rows[i].Rank = i + 1
	}
	return u.render(w, rq, http.StatusOK, "requests", rq.Loc.T("Product requests"), struct {
		Requests []requestRow
		Sort     string
		Currency string
	}{rows, sort, cur})
}

// requestView is a product request's page.
type requestView struct {
	Row      requestRow
	Items    []feedbackRow
	Accounts []askingRow
	Others   []feedback.Request // live requests it could absorb as duplicates
	Statuses []option
	Currency string
	Error    string // the status or merge form's refusal
	CanMerge bool
	CanState bool
}

// askingRow is an account asking, with how many items it gave.
type askingRow struct {
	ID, Name string
	Items    int
}

func (u *UI) requestData(rq *Request) (*requestView, error) {
	ctx, id := rq.Context(), rq.PathValue("id")
	r, items, err := feedback.View(ctx, u.db, id, time.Now())
	if errors.Is(err, feedback.ErrNotFound) {
		return nil, Errorf(http.StatusNotFound, rq.Loc.T("There is no product request %s.", id))
	}
	if err != nil {
		return nil, err
	}
	cur, err := billing.ReportingCurrency(ctx, u.db)
	if err != nil {
		return nil, err
	}
	v := &requestView{Row: requestRowOf(rq.Loc, r), Currency: cur,
		CanMerge: r.MergedInto == "" && user.AtLeast(rq.User.Role, user.RoleCSM),
		CanState: r.MergedInto == "" && user.AtLeast(rq.User.Role, user.RoleManager)}
	names, err := account.Names(ctx, u.db, r.AccountIDs)
	if err != nil {
		return nil, err
	}
	per := map[string]int{}
	for _, it := range items {
		per[it.AccountID]++
		v.Items = append(v.Items, feedbackRow{Item: it, AccountName: names[it.AccountID], Category: categoryLabel(rq.Loc, it.Category)})
	}
	for _, a := range r.AccountIDs {
		v.Accounts = append(v.Accounts, askingRow{ID: a, Name: names[a], Items: per[a]})
	}
	for _, s := range feedback.RequestStatuses {
		v.Statuses = append(v.Statuses, option{Value: s, Label: requestStatusLabel(rq.Loc, s)})
	}
	if v.CanMerge {
		all, err := feedback.Rank(ctx, u.db, feedback.RankOptions{})
		if err != nil {
			return nil, err
		}
		for _, o := range all {
			if o.ID != r.ID {
				v.Others = append(v.Others, o)
			}
		}
	}
	return v, nil
}

func (u *UI) requestPage(w http.ResponseWriter, rq *Request) error {
	v, err := u.requestData(rq)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "request", v.Row.Title, v)
}

// refuseRequest shows the request's page again with msg (422).
func (u *UI) refuseRequest(w http.ResponseWriter, rq *Request, msg string) error {
	v, err := u.requestData(rq)
	if err != nil {
		return err
	}
	v.Error = msg
	return u.render(w, rq, http.StatusUnprocessableEntity, "request", v.Row.Title, v)
}

// requestStatus changes the status; shipped or declined closes the loop
// with the owners of the asking accounts, as the API does.
func (u *UI) requestStatus(w http.ResponseWriter, rq *Request) error {
	ctx, id := rq.Context(), rq.PathValue("id")
	status, note := rq.PostFormValue("status"), rq.PostFormValue("note")
	if len([]rune(note)) > 2000 {
		return u.refuseRequest(w, rq, rq.Loc.T("The note may have at most %d characters.", 2000))
	}
	var loop feedback.Loop
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		before, after, l, err := feedback.SetStatus(ctx, tx, id, status, note, time.Now())
		if err != nil {
			return err
		}
		loop = l
		for _, d := range loop.DeliveryIDs {
			if _, err := jobs.QueueDelivery(ctx, tx, d); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "product_request", after.ID, before,
			map[string]any{"request": after, "close_the_loop": loop})
	})
	var ie *feedback.InvalidError
	switch {
	case errors.Is(err, feedback.ErrNotFound):
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no product request %s.", id))
	case errors.As(err, &ie):
		return u.refuseRequest(w, rq, rq.Loc.Reason(ie.Format, ie.Args, ie.Reason))
	case err != nil:
		return err
	}
	notice := rq.Loc.T("Status: %s.", requestStatusLabel(rq.Loc, status))
	if len(loop.Owners) > 0 || len(loop.Unowned) > 0 {
		notice = rq.Loc.T("Status: %s. %d owners emailed; %d asking accounts have no owner.", requestStatusLabel(rq.Loc, status),
			len(loop.Owners), len(loop.Unowned))
	}
	redirect(w, rq.Request, "/product-requests/"+id, notice)
	return nil
}

// requestMerge makes this request the one for the ticked duplicates.
func (u *UI) requestMerge(w http.ResponseWriter, rq *Request) error {
	ctx, id := rq.Context(), rq.PathValue("id")
	dups := rq.PostForm["request_ids"]
	if len(dups) == 0 {
		return u.refuseRequest(w, rq, rq.Loc.T("Tick the duplicate requests to merge into this one."))
	}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := feedback.GetRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		after, err := feedback.Merge(ctx, tx, id, dups, nil, time.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "product_request", id, before,
			map[string]any{"request": after, "merged": map[string]any{"request_ids": dups}})
	})
	var ie *feedback.InvalidError
	switch {
	case errors.Is(err, feedback.ErrNotFound):
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no product request %s.", id))
	case errors.As(err, &ie):
		return u.refuseRequest(w, rq, rq.Loc.Reason(ie.Format, ie.Args, ie.Reason))
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/product-requests/"+id, rq.Loc.T("%d duplicates merged into this request.", len(dups)))
	return nil
}
