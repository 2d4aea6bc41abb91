package ui

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// journeyCard is one stage of the map: its step, its live numbers and its
// edit form.
type journeyCard struct {
	Stage     lifecycle.StageDefinition
	Step      lifecycle.JourneyStep
	Accounts  int
	ARR       float64
	Playbooks []playbook.Playbook // those the step names, in its order
	// Errors and Open are set when the card's form was refused: it is shown
	// open with the submitted values and the messages.
	Errors fieldErrors
	Open   bool
	// Checked are the playbooks ticked in the form.
	Checked map[string]bool
}

type journeyData struct {
	Currency     string
	Cards        []journeyCard
	AllPlaybooks []playbook.Playbook
	NoStage      int
	Problem      string // why the page is shown again (422)
	CanEdit      bool
	AccountsLink bool // the accounts list is routed: link each stage to it
}

// journeyPage serves GET /journey.
func (u *UI) journeyPage(w http.ResponseWriter, rq *Request) error {
	d, err := u.journeyData(rq)
	if err != nil {
		return err
	}
	return u.render(w, rq, http.StatusOK, "journey", rq.Loc.T("Customer journey"), d)
}

func (u *UI) journeyData(rq *Request) (*journeyData, error) {
	ctx := rq.Context()
	steps, err := lifecycle.Journey(ctx, u.db)
	if err != nil {
		return nil, err
	}
	defs, err := lifecycle.List(ctx, u.db)
	if err != nil {
		return nil, err
	}
	sum, err := lifecycle.Summarize(ctx, u.db, time.Now())
	if err != nil {
		return nil, err
	}
	pbs, err := playbook.List(ctx, u.db)
	if err != nil {
		return nil, err
	}
	byID := map[string]playbook.Playbook{}
	for _, p := range pbs {
		byID[p.ID] = p
	}
	def := map[string]lifecycle.StageDefinition{}
	for _, d := range defs {
		def[d.ID] = d
	}
	live := map[string]lifecycle.StageCount{}
	for _, c := range sum.Stages {
		live[c.StageID] = c
	}
	d := &journeyData{Currency: sum.Currency, AllPlaybooks: pbs, NoStage: sum.NoStage,
		CanEdit: user.AtLeast(rq.User.Role, user.RoleManager), AccountsLink: u.routed("/accounts")}
	for _, st := range steps {
		c := journeyCard{Stage: def[st.StageID], Step: st, Accounts: live[st.StageID].Accounts, ARR: live[st.StageID].ARR}
		for _, id := range st.Playbooks {
			if p, ok := byID[id]; ok {
				c.Playbooks = append(c.Playbooks, p)
			}
		}
		c.Checked = checked(st.Playbooks)
		d.Cards = append(d.Cards, c)
	}
	return d, nil
}

// journeySave serves POST /journey/{stage}: the stage's journey step and
// its definition (name, rule, priority). A changed definition classifies
// every account again at once, as the API does.
func (u *UI) journeySave(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("stage")
	old, err := lifecycle.Get(ctx, u.db, id)
	if errors.Is(err, lifecycle.ErrNotFound) {
		return notFound(rq)
	}
	if err != nil {
		return err
	}
	errs := fieldErrors{}
	def := old
	def.Name = strings.TrimSpace(rq.PostFormValue("name"))
	def.Description = rq.PostFormValue("description")
	def.Rule = rq.PostFormValue("rule")
	def.Priority = formIntOr(rq, errs, "priority", "priority", old.Priority)
	f := lifecycle.JourneyFields{
		Position: formIntOr(rq, errs, "position", "position", 0), Goal: rq.PostFormValue("goal"), Actions: rq.PostFormValue("actions"),
		Feelings: rq.PostFormValue("feelings"), Questions: rq.PostFormValue("questions"), Support: rq.PostFormValue("support"),
		Touch:     lifecycle.Touch{High: rq.PostFormValue("touch_high"), Low: rq.PostFormValue("touch_low"), Tech: rq.PostFormValue("touch_tech")},
		Playbooks: rq.PostForm["playbooks"],
	}
	if f.Playbooks == nil {
		f.Playbooks = []string{}
	}
	switch err := lifecycle.Validate(def); {
	case err == nil:
	case def.Name == "":
		errs["name"] = rq.Loc.T("Enter a name.")
	default:
		if msg, ok := ruleText(rq.Loc, err); ok {
			errs["rule"] = msg
		} else if _, bad := errs["priority"]; !bad {
			errs["priority"] = rq.Loc.T("Enter a priority from 0 to %d.", lifecycle.MaxPriority)
		}
	}
	if err := lifecycle.ValidateJourney(ctx, u.db, id, f); err != nil {
		fe, ok := lifecycle.IsFieldError(err)
		if !ok {
			return err
		}
		name := fe.Field
		if strings.HasPrefix(name, "playbooks") {
			name = "playbooks"
		}
		errs[strings.ReplaceAll(name, ".", "_")] = fe.Message
	}
	if len(errs) > 0 {
		return u.journeyRefused(w, rq, id, def, f, errs)
	}
	changed := def.Name != old.Name || def.Description != old.Description || def.Rule != old.Rule || def.Priority != old.Priority
	now := time.Now().UTC().Truncate(time.Second)
	var snaps []snapshot.Snapshot
	if changed {
		// Computed before the transaction, so that it stays short.
		if snaps, err = snapshot.All(ctx, u.db, now); err != nil {
			return err
		}
	}
	moved := 0
	err = u.db.InTx(ctx, func(tx *sql.Tx) error {
		if changed {
			after, err := lifecycle.Update(ctx, tx, def, now)
			if err != nil {
				return err
			}
			if moved, err = lifecycle.Refresh(ctx, tx, now, snaps); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "stage", id, old, after); err != nil {
				return err
			}
		}
		before, err := lifecycle.Step(ctx, tx, id)
		if err != nil {
			return err
		}
		out, err := lifecycle.PutStep(ctx, tx, id, f, now)
		if err != nil {
			return err
		}
		action, prev := audit.ActionUpdate, any(before.JourneyFields)
		if before.UpdatedAt == nil {
			action, prev = audit.ActionCreate, nil
		}
		return audit.Record(ctx, tx, actor(rq), action, "journey_step", id, prev, out.JourneyFields)
	})
	if err != nil {
		return err
	}
	note := rq.Loc.T("Stage %s saved.", def.Name)
	if changed {
		note = rq.Loc.T("Stage %s saved; %d accounts changed stage.", def.Name, moved)
	}
	redirectTo(w, rq, "/journey", "#stage-"+id, note)
	return nil
}

// journeyRefused shows the map again with the stage's form open, holding
// what was sent and the reasons it was refused.
func (u *UI) journeyRefused(w http.ResponseWriter, rq *Request, id string, def lifecycle.StageDefinition, f lifecycle.JourneyFields, errs fieldErrors) error {
	d, err := u.journeyData(rq)
	if err != nil {
		return err
	}
	for i := range d.Cards {
		if c := &d.Cards[i]; c.Stage.ID == id {
			c.Stage, c.Step.JourneyFields, c.Errors, c.Open, c.Checked = def, f, errs, true, checked(f.Playbooks)
		}
	}
	d.Problem = rq.Loc.T("Not saved: see the messages in the form below.")
	return u.render(w, rq, http.StatusUnprocessableEntity, "journey", rq.Loc.T("Customer journey"), d)
}

// checked is a set of ids, for checkboxes.
func checked(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
