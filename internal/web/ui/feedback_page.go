package ui

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// feedbackRow is one item in the list.
type feedbackRow struct {
	feedback.Item
	AccountName, Category, RequestTitle string
}

// feedbackForm is the add-an-item form, kept when it is refused.
type feedbackForm struct {
	AccountID, Category, Text string
	TicketID                  string
	Title, RequestID          string // the group form
	Errors                    fieldErrors
}

// feedbackView is what /feedback shows.
type feedbackView struct {
	Items      []feedbackRow
	Query      url.Values
	Next       string
	Categories []option
	Sources    []string
	Requests   []feedback.Request // live ones, to group into
	Form       feedbackForm
	CanEdit    bool
}

// feedbackSources are the sources the filter offers (imports may carry others: the filter takes any word).
var feedbackSources = []string{feedback.SourceSurvey, feedback.SourceTicket, feedback.SourceCSM, feedback.SourceAPI}

func (u *UI) feedbackData(rq *Request, form feedbackForm) (*feedbackView, error) {
	ctx, q := rq.Context(), rq.URL.Query()
	f := feedback.Filter{AccountID: strings.TrimSpace(q.Get("account")), Category: q.Get("category"),
		Source: strings.TrimSpace(q.Get("source")), Ungrouped: q.Get("ungrouped") == "1", Limit: pageSize + 1}
	if c, ok := parseCursor(q); ok {
		f.AfterKey, f.AfterID = c.At, c.ID
	}
	if form.Errors == nil {
		form.Errors = fieldErrors{}
	}
	v := &feedbackView{Query: q, Categories: categoryOptions(rq.Loc), Sources: feedbackSources, Form: form,
		CanEdit: user.AtLeast(rq.User.Role, user.RoleCSM)}
	if f.Category != "" && !slices.Contains(feedback.Categories, f.Category) {
		return nil, Errorf(http.StatusBadRequest, rq.Loc.T("Unknown category %q.", f.Category))
	}
	list, err := feedback.Search(ctx, u.db, f)
	if err != nil {
		return nil, err
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		last := list[pageSize-1]
		v.Next = cursor{last.CreatedAt.Unix(), last.ID}.String()
	}
	reqs, err := feedback.Rank(ctx, u.db, feedback.RankOptions{})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(reqs, func(a, b feedback.Request) int { return strings.Compare(a.Title, b.Title) })
	v.Requests = reqs
	titles := map[string]string{}
	for _, r := range reqs {
		titles[r.ID] = r.Title
	}
	names, err := itemAccountNames(ctx, u, list)
	if err != nil {
		return nil, err
	}
	for _, it := range list {
		v.Items = append(v.Items, feedbackRow{Item: it, AccountName: names[it.AccountID], Category: categoryLabel(rq.Loc, it.Category),
			RequestTitle: titles[it.RequestID]})
	}
	return v, nil
}

// itemAccountNames are the names of the items' accounts.
func itemAccountNames(ctx context.Context, u *UI, list []feedback.Item) (map[string]string, error) {
	ids := make([]string, 0, len(list))
	for _, it := range list {
		if it.AccountID != "" {
			ids = append(ids, it.AccountID)
		}
	}
	return account.Names(ctx, u.db, ids)
}

func (u *UI) feedbackPage(w http.ResponseWriter, rq *Request) error {
	v, err := u.feedbackData(rq, feedbackForm{})
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "feedback", rq.Loc.T("Feedback"), v)
}

// refuseFeedback shows the list again with the form's messages (422).
func (u *UI) refuseFeedback(w http.ResponseWriter, rq *Request, form feedbackForm) error {
	v, err := u.feedbackData(rq, form)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusUnprocessableEntity, "feedback", rq.Loc.T("Feedback"), v)
}

// saveItem runs a change to one item with its audit entry; a refusal of
// the feedback package is returned as an *InvalidError for the form.
func (u *UI) saveItem(rq *Request, action string, change func(tx *sql.Tx) (before, after feedback.Item, err error)) (feedback.Item, error) {
	ctx := rq.Context()
	var after feedback.Item
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		b, a, err := change(tx)
		if err != nil {
			return err
		}
		after = a
		var before any
		if action != audit.ActionCreate {
			before = b
		}
		return audit.Record(ctx, tx, actor(rq), action, "feedback", a.ID, before, a)
	})
	return after, err
}

func (u *UI) feedbackCreate(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	form := feedbackForm{AccountID: strings.TrimSpace(rq.PostFormValue("account_id")), Category: rq.PostFormValue("category"),
		Text: rq.PostFormValue("text"), Errors: fieldErrors{}}
	if form.AccountID != "" {
		if _, err := account.Get(ctx, u.db, form.AccountID); errors.Is(err, account.ErrNotFound) {
			form.Errors.add("account_id", rq.Loc.T("There is no account %s.", form.AccountID))
		} else if err != nil {
			return err
		}
	}
	if len(form.Errors) > 0 {
		return u.refuseFeedback(w, rq, form)
	}
	it, err := u.saveItem(rq, audit.ActionCreate, func(tx *sql.Tx) (feedback.Item, feedback.Item, error) {
		it, err := feedback.Create(ctx, tx, feedback.Item{AccountID: form.AccountID, Category: form.Category, Text: form.Text,
			Source: feedback.SourceCSM}, time.Now())
		return feedback.Item{}, it, err
	})
	var ie *feedback.InvalidError
	switch {
	case errors.As(err, &ie):
		form.Errors.add(ie.Field, rq.Loc.Reason(ie.Format, ie.Args, ie.Reason))
		return u.refuseFeedback(w, rq, form)
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/feedback", rq.Loc.T("Feedback recorded as %s.", categoryLabel(rq.Loc, it.Category)))
	return nil
}

func (u *UI) feedbackFromTicket(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	form := feedbackForm{TicketID: strings.TrimSpace(rq.PostFormValue("ticket_id")), Errors: fieldErrors{}}
	it, err := u.saveItem(rq, audit.ActionCreate, func(tx *sql.Tx) (feedback.Item, feedback.Item, error) {
		it, err := feedback.FromTicket(ctx, tx, form.TicketID, rq.PostFormValue("category"), time.Now())
		return feedback.Item{}, it, err
	})
	var ie *feedback.InvalidError
	switch {
	case errors.As(err, &ie):
		form.Errors.add("ticket_id", rq.Loc.Reason(ie.Format, ie.Args, ie.Reason))
		return u.refuseFeedback(w, rq, form)
	case errors.Is(err, feedback.ErrExists):
		form.Errors.add("ticket_id", rq.Loc.T("Ticket %s is already a feedback item.", form.TicketID))
		return u.refuseFeedback(w, rq, form)
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/feedback", rq.Loc.T("Ticket %s recorded as feedback: “%s”.", form.TicketID, it.Text))
	return nil
}

// feedbackCategory corrects an item's category (the keyword guess of a
// survey comment, say); its text and request stay.
func (u *UI) feedbackCategory(w http.ResponseWriter, rq *Request) error {
	ctx, id := rq.Context(), rq.PathValue("id")
	category := rq.PostFormValue("category")
	_, err := u.saveItem(rq, audit.ActionUpdate, func(tx *sql.Tx) (feedback.Item, feedback.Item, error) {
		it, err := feedback.Get(ctx, tx, id)
		if err != nil {
			return it, it, err
		}
		it.Category = category
		return feedback.Update(ctx, tx, it, time.Now())
	})
	var ie *feedback.InvalidError
	switch {
	case errors.Is(err, feedback.ErrNotFound):
		return Errorf(http.StatusNotFound, rq.Loc.T("There is no feedback item %s.", id))
	case errors.As(err, &ie):
		return Errorf(http.StatusUnprocessableEntity, rq.Loc.T("Unknown category %q.", category))
	case err != nil:
		return err
	}
	redirect(w, rq.Request, localPath(rq.PostFormValue("next")), rq.Loc.T("The item is now in %s.", categoryLabel(rq.Loc, category)))
	return nil
}

// feedbackGroup puts the selected items into a new product request (a
// title given) or an existing one.
func (u *UI) feedbackGroup(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	ids := rq.PostForm["feedback_ids"]
	form := feedbackForm{Title: strings.TrimSpace(rq.PostFormValue("title")), RequestID: rq.PostFormValue("request_id"), Errors: fieldErrors{}}
	switch {
	case len(ids) == 0:
		form.Errors.add("feedback_ids", rq.Loc.T("Tick at least one item to group."))
	case form.Title == "" && form.RequestID == "":
		form.Errors.add("title", rq.Loc.T("Give the new request a title, or choose an existing request."))
	case form.Title != "" && form.RequestID != "":
		form.Errors.add("title", rq.Loc.T("Either a new request's title or an existing request, not both."))
	}
	if len(form.Errors) > 0 {
		return u.refuseFeedback(w, rq, form)
	}
	var saved feedback.Request
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		if form.RequestID == "" {
			var err error
			saved, err = feedback.CreateRequest(ctx, tx, feedback.Request{Title: form.Title, Category: rq.PostFormValue("category"),
				CreatedBy: actor(rq)}, ids, time.Now())
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "product_request", saved.ID, nil,
				map[string]any{"request": saved, "feedback_ids": ids})
		}
		before, err := feedback.GetRequest(ctx, tx, form.RequestID)
		if errors.Is(err, feedback.ErrNotFound) {
			return &feedback.InvalidError{Field: "request_id", Reason: rq.Loc.T("There is no product request %s.", form.RequestID)}
		} else if err != nil {
			return err
		}
		if saved, err = feedback.Merge(ctx, tx, form.RequestID, nil, ids, time.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "product_request", saved.ID, before,
			map[string]any{"request": saved, "merged": map[string]any{"feedback_ids": ids}})
	})
	var ie *feedback.InvalidError
	switch {
	case errors.As(err, &ie):
		field := ie.Field
		if field != "feedback_ids" && field != "request_id" {
			field = "title"
		}
		form.Errors.add(field, rq.Loc.Reason(ie.Format, ie.Args, ie.Reason))
		return u.refuseFeedback(w, rq, form)
	case err != nil:
		return err
	}
	redirect(w, rq.Request, "/product-requests/"+saved.ID, rq.Loc.T("%d items grouped into “%s”.", len(ids), saved.Title))
	return nil
}

// faqPage lists the FAQ candidates: the topics inquiries keep coming back to.
func (u *UI) faqPage(w http.ResponseWriter, rq *Request) error {
	days := 90
	if d := rq.URL.Query().Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 3650 {
			return Errorf(http.StatusBadRequest, rq.Loc.T("Days must be a whole number from 1 to 3650, not %q.", d))
		}
		days = n
	}
	list, err := feedback.FAQCandidates(rq.Context(), u.db, time.Now(), days, 30)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "faq", rq.Loc.T("FAQ candidates"), struct {
		Days       int
		Candidates []feedback.FAQCandidate
		CanEdit    bool
	}{days, list, user.AtLeast(rq.User.Role, user.RoleCSM)})
}
