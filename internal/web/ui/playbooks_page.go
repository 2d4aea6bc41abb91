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

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/task"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func (u *UI) registerPlaybooks() {
	u.mux.Handle("GET /playbooks", u.page(user.RoleViewer, u.playbooksList))
	u.mux.Handle("GET /playbooks/new", u.page(user.RoleManager, u.playbookNew))
	u.mux.Handle("POST /playbooks", u.action(user.RoleManager, u.playbookCreate))
	u.mux.Handle("GET /playbooks/{id}", u.page(user.RoleViewer, u.playbookDetail))
	u.mux.Handle("GET /playbooks/{id}/edit", u.page(user.RoleManager, u.playbookEdit))
	u.mux.Handle("POST /playbooks/{id}", u.action(user.RoleManager, u.playbookUpdate))
	u.mux.Handle("POST /playbooks/{id}/enabled", u.action(user.RoleManager, u.playbookSetEnabled))
	u.mux.Handle("POST /playbooks/{id}/delete", u.action(user.RoleManager, u.playbookDelete))
}

// maxHoldoutPercent bounds the holdout share the editor accepts: more than
// half held out would leave the playbook mostly not acting.
const maxHoldoutPercent = 50

type playbookRow struct {
	playbook.Playbook
	playbook.Counts
}

func (u *UI) playbooksList(w http.ResponseWriter, rq *Request) error {
	list, err := playbook.List(rq.Context(), u.db)
	if err != nil {
		return err
	}
	counts, err := playbook.CountsByPlaybook(rq.Context(), u.db)
	if err != nil {
		return err
	}
	rows := make([]playbookRow, len(list))
	for i, p := range list {
		rows[i] = playbookRow{Playbook: p.Masked(), Counts: counts[p.ID]}
	}
	return u.render(w, rq, http.StatusOK, "playbooks", rq.Loc.T("Playbooks"), map[string]any{
		"Playbooks": rows, "CanEdit": user.AtLeast(rq.User.Role, user.RoleManager),
	})
}

// recentLimit is how many recent firings and deliveries a playbook's page shows.
const recentLimit = 20

func (u *UI) playbookDetail(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	p, err := u.playbookOf(rq)
	if err != nil {
		return err
	}
	counts, err := playbook.CountsByPlaybook(ctx, u.db)
	if err != nil {
		return err
	}
	runs, err := playbook.Enrollments(ctx, u.db, playbook.EnrollmentFilter{PlaybookID: p.ID, Limit: recentLimit})
	if err != nil {
		return err
	}
	names := map[string]string{} // the recent firings' accounts by id (at most recentLimit reads)
	for _, e := range runs {
		if _, ok := names[e.AccountID]; ok {
			continue
		}
		a, err := account.Get(ctx, u.db, e.AccountID)
		if err != nil {
			return err
		}
		names[e.AccountID] = a.Name
	}
	ds, err := notify.List(ctx, u.db, notify.Filter{PlaybookID: p.ID, Limit: recentLimit})
	if err != nil {
		return err
	}
	for i := range ds {
		ds[i] = ds[i].Masked()
	}
	return u.render(w, rq, http.StatusOK, "playbook", p.Name, map[string]any{
		"Playbook": p.Masked(), "Counts": counts[p.ID], "Runs": runs, "Names": names, "Deliveries": ds,
		"CanEdit": user.AtLeast(rq.User.Role, user.RoleManager), "AccountLinks": u.routed("/accounts/x"),
	})
}

// playbookOf is the playbook of the request's {id}, or a 404.
func (u *UI) playbookOf(rq *Request) (playbook.Playbook, error) {
	p, err := playbook.Get(rq.Context(), u.db, rq.PathValue("id"))
	return lookup(p, err, playbook.ErrNotFound, rq.Loc.T("There is no playbook %q.", rq.PathValue("id")))
}

// playbookForm is the editor's data: the fields as text (so a wrong
// number comes back as typed) and the messages beside them.
type playbookForm struct {
	New                                   bool
	ID, Name                              string
	Enabled                               bool
	TriggerType, Condition, Band          string
	Days, Percent                         string
	Filter, CooldownDays, Holdout         string
	Actions                               []actionForm
	Errors                                fieldErrors
	TriggerTypes, ActionTypes, Priorities []string
	Bands                                 []string
	MaxHoldout                            int
}

// actionForm is one action slot of the editor; a slot with no type is
// left out (the last slot is always empty, to add an action).
type actionForm struct {
	Index                                         int
	Type, Title, Description, DueInDays, Priority string
	Assignee, FallbackAssignee, To, ContactRole   string
	Subject, Body, URL, Secret, Text              string
	Errors                                        fieldErrors
}

// Number is the slot's number as people count, from 1.
func (a actionForm) Number() int { return a.Index + 1 }

func newPlaybookForm() *playbookForm {
	return &playbookForm{Errors: fieldErrors{}, TriggerTypes: playbook.TriggerTypes, ActionTypes: playbook.ActionTypes,
		Priorities: task.Priorities, Bands: []string{"red", "yellow", "green"}, MaxHoldout: maxHoldoutPercent}
}

// formOf fills the editor from a stored playbook (secrets masked).
func formOf(p playbook.Playbook) *playbookForm {
	f := newPlaybookForm()
	p = p.Masked()
	f.ID, f.Name, f.Enabled, f.Filter = p.ID, p.Name, p.Enabled, p.Filter
	f.TriggerType, f.Condition, f.Band = p.Trigger.Type, p.Trigger.Condition, p.Trigger.Band
	if p.Trigger.Days != 0 {
		f.Days = strconv.Itoa(p.Trigger.Days)
	}
	if p.Trigger.Percent != 0 {
		f.Percent = formatNum(p.Trigger.Percent)
	}
	f.CooldownDays = strconv.Itoa(p.CooldownDays)
	f.Holdout = formatNum(p.HoldoutShare * 100)
	for i, a := range p.Actions {
		af := actionForm{Index: i, Type: a.Type, Title: a.Title, Description: a.Description, Priority: a.Priority,
			Assignee: a.Assignee, FallbackAssignee: a.FallbackAssignee, To: a.To, ContactRole: a.ContactRole, Subject: a.Subject, Body: a.Body, URL: a.URL, Secret: a.Secret, Text: a.Text,
			Errors: fieldErrors{}}
		if a.DueInDays != 0 {
			af.DueInDays = strconv.Itoa(a.DueInDays)
		}
		f.Actions = append(f.Actions, af)
	}
	f.addSlot()
	return f
}

// addSlot appends the empty action slot.
func (f *playbookForm) addSlot() {
	f.Actions = append(f.Actions, actionForm{Index: len(f.Actions), Priority: "normal", Errors: fieldErrors{}})
}

func (u *UI) playbookNew(w http.ResponseWriter, rq *Request) error {
	f := newPlaybookForm()
	f.New, f.Enabled, f.TriggerType, f.CooldownDays, f.Holdout = true, true, playbook.TriggerRule, "30", "10"
	f.addSlot()
	f.Actions[0].Type = playbook.ActionTask
	return u.renderPlaybookForm(w, rq, http.StatusOK, f)
}

func (u *UI) playbookEdit(w http.ResponseWriter, rq *Request) error {
	p, err := u.playbookOf(rq)
	if err != nil {
		return err
	}
	return u.renderPlaybookForm(w, rq, http.StatusOK, formOf(p))
}

func (u *UI) renderPlaybookForm(w http.ResponseWriter, rq *Request, status int, f *playbookForm) error {
	title := rq.Loc.T("New playbook")
	if !f.New {
		title = rq.Loc.T("Edit playbook %s", f.Name)
	}
	return u.render(w, rq, status, "playbook_edit", title, f)
}

// actionSlots bounds the action slots read from a form (the API allows 20).
const actionSlots = 20

// readPlaybookForm reads the editor's fields into f and the playbook they
// describe. Only the fields of the chosen trigger and action types are
// kept: the others may still hold what was typed before the type changed.
func readPlaybookForm(rq *Request, f *playbookForm) (playbook.Playbook, []int) {
	v := func(name string) string { return strings.TrimSpace(rq.PostFormValue(name)) }
	f.Name, f.Enabled, f.Filter = v("name"), rq.PostFormValue("enabled") != "", v("filter")
	f.TriggerType, f.Condition, f.Band, f.Days, f.Percent = v("trigger"), v("condition"), v("band"), v("days"), v("percent")
	f.CooldownDays, f.Holdout = v("cooldown_days"), v("holdout")
	p := playbook.Playbook{ID: f.ID, Name: f.Name, Enabled: f.Enabled, Filter: f.Filter}
	p.Trigger.Type = f.TriggerType
	switch f.TriggerType {
	case playbook.TriggerRule:
		p.Trigger.Condition = f.Condition
	case playbook.TriggerHealthBand:
		p.Trigger.Band = f.Band
	case playbook.TriggerRenewalInDays:
		p.Trigger.Days = formInt(rq, f.Errors, "days", "trigger.days")
	case playbook.TriggerUsageDrop:
		p.Trigger.Percent = formFloat(rq, f.Errors, "percent", "trigger.percent")
	}
	p.CooldownDays = formInt(rq, f.Errors, "cooldown_days", "cooldown_days")
	holdout := formFloat(rq, f.Errors, "holdout", "holdout_share")
	if holdout < 0 || holdout > maxHoldoutPercent {
		f.Errors.add("holdout_share", rq.Loc.T("The holdout share must be between 0 and %d %%.", maxHoldoutPercent))
	}
	p.HoldoutShare = holdout / 100
	var slots []int // slots[i] is the form slot of p.Actions[i]
	n, _ := strconv.Atoi(rq.PostFormValue("actions"))
	for i := range min(max(n, 0), actionSlots) {
		k := func(name string) string { return v(fmt.Sprintf("a%d.%s", i, name)) }
		af := actionForm{Index: len(f.Actions), Type: k("type"), Title: k("title"), Description: k("description"),
			DueInDays: k("due_in_days"), Priority: k("priority"), Assignee: k("assignee"), FallbackAssignee: k("fallback_assignee"),
			To: k("to"), ContactRole: k("contact_role"), Subject: k("subject"),
			Body: k("body"), URL: k("url"), Secret: k("secret"), Text: k("text"), Errors: fieldErrors{}}
		if af.Type == "" {
			continue
		}
		a := playbook.Action{Type: af.Type}
		switch af.Type {
		case playbook.ActionTask:
			a.Title, a.Description, a.Priority, a.Assignee, a.FallbackAssignee = af.Title, af.Description, af.Priority, af.Assignee, af.FallbackAssignee
			a.DueInDays = formInt(rq, af.Errors, fmt.Sprintf("a%d.due_in_days", i), "due_in_days")
		case playbook.ActionEmail:
			a.To, a.ContactRole, a.Subject, a.Body = af.To, af.ContactRole, af.Subject, af.Body
		case playbook.ActionWebhook:
			a.URL, a.Secret = af.URL, af.Secret
		case playbook.ActionSlack:
			a.URL, a.Text = af.URL, af.Text
		}
		f.Actions = append(f.Actions, af)
		slots = append(slots, af.Index)
		p.Actions = append(p.Actions, a)
	}
	f.addSlot()
	return p, slots
}

var actionField = regexp.MustCompile(`^actions\[(\d+)\]\.?(.*)$`)

// placeProblems puts each problem beside its field: an action's problem
// in its slot, the rest by field name.
func placeProblems(rq *Request, f *playbookForm, probs []playbook.Problem, slots []int) {
	for _, pr := range probs {
		msg := pr.Message
		if pr.Column > 0 {
			msg = ruleMessage(rq.Loc, pr.Line, pr.Column, pr.Message)
		}
		if m := actionField.FindStringSubmatch(pr.Field); m != nil {
			i, _ := strconv.Atoi(m[1])
			if i < len(slots) {
				field := m[2]
				if field == "" {
					field = "type"
				}
				f.Actions[slots[i]].Errors.add(field, msg)
				continue
			}
		}
		f.Errors.add(pr.Field, msg)
	}
}

// HasErrors reports whether the form has any message, its actions' included.
func (f *playbookForm) HasErrors() bool {
	if len(f.Errors) > 0 {
		return true
	}
	return slices.ContainsFunc(f.Actions, func(a actionForm) bool { return len(a.Errors) > 0 })
}

func (u *UI) playbookCreate(w http.ResponseWriter, rq *Request) error {
	f := newPlaybookForm()
	f.New, f.ID = true, strings.TrimSpace(rq.PostFormValue("playbook_id"))
	if f.ID != "" {
		if _, err := playbook.Get(rq.Context(), u.db, f.ID); err == nil {
			f.Errors.add("playbook_id", rq.Loc.T("A playbook with this id exists; choose another id."))
		} else if !errors.Is(err, playbook.ErrNotFound) {
			return err
		}
	}
	return u.savePlaybook(w, rq, f)
}

func (u *UI) playbookUpdate(w http.ResponseWriter, rq *Request) error {
	p, err := u.playbookOf(rq)
	if err != nil {
		return err
	}
	f := newPlaybookForm()
	f.ID = p.ID
	return u.savePlaybook(w, rq, f)
}

// savePlaybook validates the form (on the server too: the page works
// without the live check) and stores it with an audit entry, or shows the
// form again with the problems (422).
func (u *UI) savePlaybook(w http.ResponseWriter, rq *Request, f *playbookForm) error {
	p, slots := readPlaybookForm(rq, f)
	placeProblems(rq, f, playbook.Validate(&p), slots)
	if f.HasErrors() {
		return u.renderPlaybookForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	err := u.db.InTx(rq.Context(), func(tx *sql.Tx) error {
		return storePlaybook(rq, tx, p)
	})
	var ve *playbook.ValidationError
	if errors.As(err, &ve) {
		placeProblems(rq, f, ve.Problems, slots)
		return u.renderPlaybookForm(w, rq, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	redirect(w, rq.Request, "/playbooks/"+p.ID, rq.Loc.T("Playbook saved."))
	return nil
}

// storePlaybook saves p and records the change (secrets masked).
func storePlaybook(rq *Request, tx *sql.Tx, p playbook.Playbook) error {
	before, after, err := playbook.Save(rq.Context(), tx, p, time.Now())
	if err != nil {
		return err
	}
	if before == nil {
		return audit.Record(rq.Context(), tx, actor(rq), audit.ActionCreate, "playbook", p.ID, nil, after.Masked())
	}
	return audit.Record(rq.Context(), tx, actor(rq), audit.ActionUpdate, "playbook", p.ID, before.Masked(), after.Masked())
}

func (u *UI) playbookSetEnabled(w http.ResponseWriter, rq *Request) error {
	p, err := u.playbookOf(rq)
	if err != nil {
		return err
	}
	p.Enabled = rq.PostFormValue("enabled") == "true"
	if err := u.db.InTx(rq.Context(), func(tx *sql.Tx) error { return storePlaybook(rq, tx, p) }); err != nil {
		return err
	}
	note := rq.Loc.T("Playbook disabled.")
	if p.Enabled {
		note = rq.Loc.T("Playbook enabled.")
	}
	redirect(w, rq.Request, "/playbooks/"+p.ID, note)
	return nil
}

func (u *UI) playbookDelete(w http.ResponseWriter, rq *Request) error {
	p, err := u.playbookOf(rq)
	if err != nil {
		return err
	}
	return u.deleteAndRedirect(w, rq, "playbook", p.ID, p.Masked(), playbook.Delete, "/playbooks", rq.Loc.T("Playbook %s deleted.", p.Name))
}
