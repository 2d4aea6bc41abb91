package ui

import (
	"database/sql"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/task"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// Bounds of what the account page's forms take.
const (
	maxNote   = 10000 // characters of a note
	maxReason = 2000  // characters of an override's reason
)

// postForm reads the named fields of a POST into a form.
func postForm(rq *Request, fields ...string) *formState {
	f := newForm()
	for _, k := range fields {
		f.Values[k] = strings.TrimSpace(rq.PostFormValue(k))
	}
	return f
}

// refuse re-renders the account page with the refused form and 422.
func (a *accountsArea) refuse(w http.ResponseWriter, rq *Request, acc account.Account, name string, f *formState) error {
	return a.renderAccount(w, rq, acc, http.StatusUnprocessableEntity, map[string]*formState{name: f})
}

func (a *accountsArea) back(w http.ResponseWriter, rq *Request, acc account.Account, notice string) error {
	redirect(w, rq.Request, "/accounts/"+acc.ID, notice)
	return nil
}

// addNote serves POST /accounts/{id}/notes: a timeline entry by the user.
func (a *accountsArea) addNote(w http.ResponseWriter, rq *Request) error {
	acc, err := a.loadAccount(rq)
	if err != nil {
		return err
	}
	f := postForm(rq, "kind", "body")
	l := rq.Loc
	if !slices.Contains(account.NoteKinds, f.Values["kind"]) {
		f.fail("kind", l.T("Choose the kind of entry."))
	}
	switch n := utf8.RuneCountInString(f.Values["body"]); {
	case n == 0:
		f.fail("body", l.T("Write the note."))
	case n > maxNote:
		f.fail("body", l.T("The note is %d characters long; at most %d.", n, maxNote))
	}
	if len(f.Errors) > 0 {
		return a.refuse(w, rq, acc, "note", f)
	}
	err = a.u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		n, err := account.AddNote(rq.Context(), tx, account.Note{AccountID: acc.ID, Kind: f.Values["kind"],
			Body: f.Values["body"], AuthorEmail: rq.User.Email})
		if err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionCreate, "note", n.ID, nil, n)
	})
	if err != nil {
		return err
	}
	return a.back(w, rq, acc, l.T("Note added."))
}

// changeOwner serves POST /accounts/{id}/owner.
func (a *accountsArea) changeOwner(w http.ResponseWriter, rq *Request) error {
	acc, err := a.loadAccount(rq)
	if err != nil {
		return err
	}
	f := postForm(rq, "owner")
	l := rq.Loc
	if f.Values["owner"] == "" {
		f.fail("owner", l.T("Choose the new owner."))
		return a.refuse(w, rq, acc, "owner", f)
	}
	var change coverage.OwnerChange
	err = a.u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		// SetOwner checks the user may own accounts and records the change in the audit log.
		change, err = coverage.SetOwner(rq.Context(), tx, acc.ID, strings.ToLower(f.Values["owner"]), actor(rq))
		return err
	})
	if errors.Is(err, coverage.ErrNotAssignable) {
		f.fail("owner", l.T("%s cannot own accounts: an owner must be a user with the role csm or manager.", f.Values["owner"]))
		return a.refuse(w, rq, acc, "owner", f)
	}
	if err != nil {
		return err
	}
	if change.From == change.To {
		return a.back(w, rq, acc, l.T("The owner is unchanged."))
	}
	a.cache.invalidate(struct{}{})
	return a.back(w, rq, acc, l.T("The owner is now %s.", change.To))
}

// override serves POST /accounts/{id}/override: a score or a band set by
// hand, with a reason, until an expiry date.
func (a *accountsArea) override(w http.ResponseWriter, rq *Request) error {
	acc, err := a.loadAccount(rq)
	if err != nil {
		return err
	}
	f := postForm(rq, "score", "band", "reason", "expires")
	l := rq.Loc
	now := time.Now().UTC()
	o := health.Override{AccountID: acc.ID, Band: f.Values["band"], Reason: f.Values["reason"], Author: rq.User.Email, SetAt: now}
	if s := f.Values["score"]; s != "" {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || x < 0 || x > 100 {
			f.fail("score", l.T("The score must be a number from 0 to 100."))
		} else {
			o.Score = &x
		}
	}
	switch {
	case f.Values["score"] == "" && o.Band == "":
		f.fail("score", l.T("Give a score or a band."))
	case f.Values["score"] != "" && o.Band != "":
		f.fail("band", l.T("Give a score or a band, not both."))
	case o.Band != "" && o.Band != health.Green && o.Band != health.Yellow && o.Band != health.Red:
		f.fail("band", l.T("Choose green, yellow or red."))
	}
	switch n := utf8.RuneCountInString(o.Reason); {
	case n == 0:
		f.fail("reason", l.T("Say why: a reason is required."))
	case n > maxReason:
		f.fail("reason", l.T("The reason is %d characters long; at most %d.", n, maxReason))
	}
	if e := f.Values["expires"]; e != "" {
		d, err := time.Parse(time.DateOnly, e)
		switch {
		case err != nil:
			f.fail("expires", l.T("Give the expiry date as YYYY-MM-DD."))
		case !d.After(now):
			f.fail("expires", l.T("The expiry date must be after today."))
		default:
			o.ExpiresAt = d
		}
	}
	if len(f.Errors) > 0 {
		return a.refuse(w, rq, acc, "override", f)
	}
	err = a.u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		before, had, err := health.ActiveOverride(rq.Context(), tx, acc.ID, now)
		if err != nil {
			return err
		}
		if o, err = health.SetOverride(rq.Context(), tx, o); err != nil {
			return err
		}
		var b any
		if had {
			b = before
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionCreate, "health_override", acc.ID, b, o)
	})
	if err != nil {
		return err
	}
	return a.back(w, rq, acc, l.T("Health override saved; the next recompute applies it."))
}

// createTask serves POST /accounts/{id}/tasks.
func (a *accountsArea) createTask(w http.ResponseWriter, rq *Request) error {
	acc, err := a.loadAccount(rq)
	if err != nil {
		return err
	}
	f := postForm(rq, "title", "due", "assignee", "priority")
	l := rq.Loc
	t := task.Task{AccountID: acc.ID, Title: f.Values["title"], Assignee: strings.ToLower(f.Values["assignee"]),
		Priority: f.Values["priority"], CreatedBy: actor(rq)}
	switch n := len(t.Title); {
	case n == 0:
		f.fail("title", l.T("Give the task a title."))
	case n > 500:
		f.fail("title", l.T("The title is too long: at most 500 bytes."))
	}
	if t.Priority == "" {
		t.Priority = "normal"
	}
	if !slices.Contains(task.Priorities, t.Priority) {
		f.fail("priority", l.T("Choose a priority."))
	}
	if d := f.Values["due"]; d != "" {
		due, err := time.Parse(time.DateOnly, d)
		if err != nil {
			f.fail("due", l.T("Give the due date as YYYY-MM-DD."))
		} else {
			t.DueAt = &due
		}
	}
	if t.Assignee == "" {
		t.Assignee = acc.OwnerEmail
	} else if _, err := user.GetByEmail(rq.Context(), a.u.db, t.Assignee); errors.Is(err, user.ErrNotFound) {
		f.fail("assignee", l.T("%s is not a user of Kizuna.", t.Assignee))
	} else if err != nil {
		return err
	}
	if len(f.Errors) > 0 {
		return a.refuse(w, rq, acc, "task", f)
	}
	err = a.u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		created, err := task.Create(rq.Context(), tx, t)
		if err != nil {
			return err
		}
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionCreate, "task", created.ID, nil, created)
	})
	var ve *task.ValidationError
	if errors.As(err, &ve) {
		f.fail("title", ve.Error())
		return a.refuse(w, rq, acc, "task", f)
	}
	if err != nil {
		return err
	}
	return a.back(w, rq, acc, l.T("Task created."))
}
