package ui

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/successplan"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// registerPlan registers an account's plan page and its forms.
func (u *UI) registerPlan() {
	const p = "/accounts/{id}/plan"
	u.mux.Handle("GET "+p, u.page(user.RoleViewer, u.planPage))
	edit := func(path string, h handlerFunc) { u.mux.Handle("POST "+p+path, u.action(user.RoleCSM, h)) }
	edit("", u.planSave)
	edit("/checklist/{milestone}", u.planChecklist)
	edit("/goals", u.planGoalSave)
	edit("/goals/{goal}", u.planGoalSave)
	edit("/goals/from-handoff", u.planGoalsFromHandoff)
	edit("/milestones", u.planMilestoneSave)
	edit("/milestones/{milestone}", u.planMilestoneSave)
	edit("/handoff", u.planHandoffSave)
	edit("/shares", u.planShareCreate)
	edit("/shares/{share}/revoke", u.planShareRevoke)
}

// goalForm is a goal as its form shows it: from the goal, or as sent when
// refused.
type goalForm struct {
	ID, Title, Description, Tracking, Rule, Metric, Baseline, Target, ManualPercent, Status, DueAt string
	Errors                                                                                         fieldErrors
}

// milestoneForm is a milestone as its form shows it.
type milestoneForm struct {
	ID, Title, GoalID, OwnerEmail, DueAt, Status string
	Errors                                       fieldErrors
}

// planGoalRow is a goal with its progress and its edit form.
type planGoalRow struct {
	successplan.PlanGoalView
	Form goalForm
}

type planMilestoneRow struct {
	successplan.PlanMilestoneView
	GoalTitle string
	Form      milestoneForm
}

type planData struct {
	Account      account.Account
	Onboarding   onboarding.AccountOnboarding
	TimeToValue  int // days from signup to completion, when HasTTV
	HasTTV       bool
	HasPlan      bool
	Plan         successplan.PlanView
	PlanErrors   fieldErrors
	Goals        []planGoalRow
	Milestones   []planMilestoneRow
	NewGoal      goalForm
	NewMilestone milestoneForm
	Handoff      account.Handoff
	HasHandoff   bool
	Completeness successplan.HandoffCompleteness
	Suggestions  []successplan.GoalSuggestion
	Shares       []successplan.PlanShare
	NewShareURL  string // a link just made: shown this once
	CanEdit      bool
	// The choices of the forms' selects.
	GoalStatuses, MilestoneStatuses, PlanStatuses, Trackings, Languages []string
	// Refused names the form that was refused ("goal-new", "goal-ID",
	// "milestone-new", ...), so that it is shown open.
	Refused string
	Problem string // why the page is shown again (422)
}

// planPage serves GET /accounts/{id}/plan.
func (u *UI) planPage(w http.ResponseWriter, rq *Request) error {
	d, err := u.planData(rq)
	if err != nil {
		return err
	}
	return u.renderPlan(w, rq, http.StatusOK, d)
}

func (u *UI) renderPlan(w http.ResponseWriter, rq *Request, status int, d *planData) error {
	return u.render(w, rq, status, "plan", rq.Loc.T("Plan: %s", d.Account.Name), d)
}

func (u *UI) planData(rq *Request) (*planData, error) {
	ctx := rq.Context()
	id := rq.PathValue("id")
	a, err := account.Get(ctx, u.db, id)
	if errors.Is(err, account.ErrNotFound) {
		return nil, notFound(rq)
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	d := &planData{Account: a, CanEdit: user.AtLeast(rq.User.Role, user.RoleCSM),
		NewGoal: goalForm{Tracking: successplan.TrackManual, Status: successplan.GoalDraft}, NewMilestone: milestoneForm{Status: successplan.MilestoneOpen},
		GoalStatuses: successplan.GoalStatuses, MilestoneStatuses: successplan.MilestoneStatuses, PlanStatuses: successplan.PlanStatuses,
		Trackings: successplan.Trackings, Languages: successplan.Languages}
	if d.Onboarding, err = onboarding.AccountStatus(ctx, u.db, id, now); err != nil && !errors.Is(err, onboarding.ErrNotFound) {
		return nil, err
	}
	if n := d.Onboarding.DaysToComplete; n != nil {
		d.TimeToValue, d.HasTTV = *n, true
	}
	v, err := successplan.Load(ctx, u.db, id, now)
	switch {
	case err == nil:
		d.HasPlan, d.Plan = true, v
	case errors.Is(err, successplan.ErrNotFound):
		d.Plan.Language, d.Plan.Status, d.Plan.Title = rq.Loc.Lang(), "draft", a.Name
	default:
		return nil, err
	}
	titles := map[string]string{}
	var goals []successplan.PlanGoal
	for _, g := range d.Plan.Goals {
		titles[g.ID] = g.Title
		goals = append(goals, g.PlanGoal)
		d.Goals = append(d.Goals, planGoalRow{PlanGoalView: g, Form: goalFormOf(g.PlanGoal)})
	}
	for _, m := range d.Plan.Milestones {
		d.Milestones = append(d.Milestones, planMilestoneRow{PlanMilestoneView: m, GoalTitle: titles[m.GoalID], Form: milestoneFormOf(m.PlanMilestone)})
	}
	h, err := account.GetHandoff(ctx, u.db, id)
	switch {
	case err == nil:
		d.Handoff, d.HasHandoff = h, true
		d.Suggestions = successplan.Suggestions(h, goals)
	case !errors.Is(err, account.ErrNotFound):
		return nil, err
	}
	d.Completeness = successplan.Assess(d.Handoff)
	if d.Shares, err = successplan.Shares(ctx, u.db, id); err != nil {
		return nil, err
	}
	return d, nil
}

func dateField(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func numField(x *float64) string {
	if x == nil {
		return ""
	}
	return strconv.FormatFloat(*x, 'f', -1, 64)
}

func goalFormOf(g successplan.PlanGoal) goalForm {
	return goalForm{ID: g.ID, Title: g.Title, Description: g.Description, Tracking: g.Tracking, Rule: g.Rule, Metric: g.Metric,
		Baseline: numField(g.Baseline), Target: numField(g.Target), ManualPercent: strconv.FormatFloat(g.ManualPercent, 'f', -1, 64),
		Status: g.Status, DueAt: dateField(g.DueAt)}
}

func milestoneFormOf(m successplan.PlanMilestone) milestoneForm {
	return milestoneForm{ID: m.ID, Title: m.Title, GoalID: m.GoalID, OwnerEmail: m.OwnerEmail, DueAt: dateField(m.DueAt), Status: m.Status}
}

// planURL is the plan page of the request's account.
func planURL(rq *Request) string {
	return "/accounts/" + rq.PathValue("id") + "/plan"
}

// planRefusal puts a success-plan validation error beside its field and
// reports whether err was one.
func planRefusal(rq *Request, err error, errs fieldErrors) bool {
	var (
		ve *successplan.ValidationError
		re *successplan.RuleError
	)
	switch {
	case errors.As(err, &re):
		errs[re.Field], _ = ruleText(rq.Loc, re.Err)
	case errors.As(err, &ve):
		errs[ve.Field] = rq.Loc.Reason(ve.Format, ve.Args, ve.Message)
	default:
		return false
	}
	return true
}

// ensurePlan makes the account's draft plan when it has none, recording it;
// account.ErrNotFound when there is no such account.
func ensurePlan(ctx context.Context, tx *sql.Tx, rq *Request) error {
	if _, err := account.Get(ctx, tx, rq.PathValue("id")); err != nil {
		return err
	}
	p, made, err := successplan.EnsurePlan(ctx, tx, rq.PathValue("id"), rq.User.Email, time.Now())
	if err != nil || !made {
		return err
	}
	return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "success_plan", p.AccountID, nil, p)
}

// planFailed answers an error of a plan form: the page again (422) with the
// form open and its messages when errs has any, 404 for a missing object,
// else err.
func (u *UI) planFailed(w http.ResponseWriter, rq *Request, err error, errs fieldErrors, form string, fill func(*planData)) error {
	if err != nil && !errors.Is(err, errRefused) && !planRefusal(rq, err, errs) {
		if errors.Is(err, successplan.ErrNotFound) || errors.Is(err, account.ErrNotFound) || errors.Is(err, onboarding.ErrNotFound) {
			return notFound(rq)
		}
		return err
	}
	d, derr := u.planData(rq)
	if derr != nil {
		return derr
	}
	d.Refused, d.Problem = form, rq.Loc.T("Not saved: see the messages in the form below.")
	fill(d)
	return u.renderPlan(w, rq, http.StatusUnprocessableEntity, d)
}

// planSave serves POST /accounts/{id}/plan: the plan's own fields.
func (u *UI) planSave(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("id")
	errs := fieldErrors{}
	p := successplan.SuccessPlan{AccountID: id, Title: strings.TrimSpace(rq.PostFormValue("title")), Language: rq.PostFormValue("language"),
		Status: rq.PostFormValue("status"), OwnerEmail: strings.TrimSpace(rq.PostFormValue("owner_email"))}
	if p.OwnerEmail == "" {
		p.OwnerEmail = rq.User.Email
	}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := account.Get(ctx, tx, id); err != nil {
			return err
		}
		before, err := successplan.GetPlan(ctx, tx, id)
		exists := err == nil
		if err != nil && !errors.Is(err, successplan.ErrNotFound) {
			return err
		}
		after, err := successplan.PutPlan(ctx, tx, p, time.Now())
		if err != nil {
			return err
		}
		if !exists {
			return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "success_plan", id, nil, after)
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "success_plan", id, before, after)
	})
	if err != nil {
		return u.planFailed(w, rq, err, errs, "plan", func(d *planData) {
			d.Plan.Title, d.Plan.Language, d.Plan.Status, d.Plan.OwnerEmail, d.PlanErrors = p.Title, p.Language, p.Status, p.OwnerEmail, errs
		})
	}
	redirectTo(w, rq, planURL(rq), "#plan", rq.Loc.T("Success plan saved."))
	return nil
}

// planChecklist serves POST /accounts/{id}/plan/checklist/{milestone}:
// done=1 ticks an onboarding milestone by hand, done=0 unticks it.
func (u *UI) planChecklist(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id, ms := rq.PathValue("id"), rq.PathValue("milestone")
	done := rq.PostFormValue("done") == "1"
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		before, after, err := onboarding.SetDone(ctx, tx, id, ms, done, time.Now(), actor(rq))
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "onboarding_checklist", id+"/"+ms, before, after)
	})
	if errors.Is(err, onboarding.ErrNotFound) {
		return notFound(rq)
	}
	if err != nil {
		return err
	}
	jobs.Changed(ctx, []string{id})
	note := rq.Loc.T("Milestone ticked.")
	if !done {
		note = rq.Loc.T("Milestone unticked.")
	}
	redirectTo(w, rq, planURL(rq), "#checklist", note)
	return nil
}

// planGoalSave serves POST …/plan/goals (a new goal, making a draft plan
// when there is none) and POST …/plan/goals/{goal} (replace it).
func (u *UI) planGoalSave(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id, goalID := rq.PathValue("id"), rq.PathValue("goal")
	errs := fieldErrors{}
	f := goalForm{ID: goalID, Errors: errs}
	for name, dst := range map[string]*string{"title": &f.Title, "description": &f.Description, "tracking": &f.Tracking, "rule": &f.Rule,
		"metric": &f.Metric, "baseline": &f.Baseline, "target": &f.Target, "manual_percent": &f.ManualPercent, "status": &f.Status, "due_at": &f.DueAt} {
		*dst = strings.TrimSpace(rq.PostFormValue(name))
	}
	g := successplan.PlanGoal{ID: goalID, AccountID: id, Title: f.Title, Description: f.Description, Tracking: f.Tracking, Status: f.Status,
		DueAt: formDate(rq, errs, "due_at", "due_at")}
	// Only the fields of the chosen tracking are kept, so that switching
	// a goal from a rule to a metric needs no clearing by hand.
	switch g.Tracking {
	case successplan.TrackRule:
		g.Rule = f.Rule
	case successplan.TrackMetric:
		g.Metric, g.Baseline, g.Target = f.Metric, formOptFloat(rq, errs, "baseline", "baseline"), formOptFloat(rq, errs, "target", "target")
	default:
		if p := formOptFloat(rq, errs, "manual_percent", "manual_percent"); p != nil {
			g.ManualPercent = *p
		}
	}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		if len(errs) > 0 {
			return errRefused
		}
		if goalID == "" {
			if err := ensurePlan(ctx, tx, rq); err != nil {
				return err
			}
			created, err := successplan.AddGoal(ctx, tx, g, time.Now())
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "success_goal", created.ID, nil, created)
		}
		cur, err := successplan.GetGoal(ctx, tx, id, goalID)
		if err != nil {
			return err
		}
		g.Source = cur.Source
		before, after, err := successplan.UpdateGoal(ctx, tx, g, time.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "success_goal", goalID, before, after)
	})
	if err != nil {
		form := "goal-new"
		if goalID != "" {
			form = "goal-" + goalID
		}
		return u.planFailed(w, rq, err, errs, form, func(d *planData) {
			if goalID == "" {
				d.NewGoal = f
			}
			for i := range d.Goals {
				if d.Goals[i].ID == goalID {
					d.Goals[i].Form = f
				}
			}
		})
	}
	redirectTo(w, rq, planURL(rq), "#goals", rq.Loc.T("Goal saved."))
	return nil
}

// planGoalsFromHandoff serves POST …/plan/goals/from-handoff: the handoff's
// success criteria that have no goal become draft goals.
func (u *UI) planGoalsFromHandoff(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("id")
	var goals []successplan.PlanGoal
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		h, err := account.GetHandoff(ctx, tx, id)
		if err != nil {
			return err
		}
		var made bool
		if goals, made, err = successplan.GoalsFromHandoff(ctx, tx, h, rq.User.Email, time.Now()); err != nil {
			return err
		}
		if made {
			p, err := successplan.GetPlan(ctx, tx, id)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "success_plan", id, nil, p); err != nil {
				return err
			}
		}
		for _, g := range goals {
			if err := audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "success_goal", g.ID, nil, g); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, account.ErrNotFound) {
		return Errorf(http.StatusNotFound, rq.Loc.T("This account has no handoff record yet."))
	}
	if err != nil {
		return err
	}
	redirectTo(w, rq, planURL(rq), "#goals", rq.Loc.T("%d goals added from the handoff.", len(goals)))
	return nil
}

// planMilestoneSave serves POST …/plan/milestones (a new milestone) and
// POST …/plan/milestones/{milestone} (replace it).
func (u *UI) planMilestoneSave(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id, msID := rq.PathValue("id"), rq.PathValue("milestone")
	errs := fieldErrors{}
	f := milestoneForm{ID: msID, Title: strings.TrimSpace(rq.PostFormValue("title")), GoalID: rq.PostFormValue("goal_id"),
		OwnerEmail: strings.TrimSpace(rq.PostFormValue("owner_email")), DueAt: strings.TrimSpace(rq.PostFormValue("due_at")),
		Status: rq.PostFormValue("status"), Errors: errs}
	if f.Status == "" {
		f.Status = successplan.MilestoneOpen
	}
	m := successplan.PlanMilestone{ID: msID, AccountID: id, Title: f.Title, GoalID: f.GoalID, OwnerEmail: f.OwnerEmail, Status: f.Status,
		DueAt: formDate(rq, errs, "due_at", "due_at")}
	if f.OwnerEmail != "" && !strings.Contains(f.OwnerEmail, "@") {
		errs["owner_email"] = rq.Loc.T("Enter an email address.")
	}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		if len(errs) > 0 {
			return errRefused
		}
		if msID == "" {
			if err := ensurePlan(ctx, tx, rq); err != nil {
				return err
			}
			created, err := successplan.AddMilestone(ctx, tx, m, time.Now())
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "success_milestone", created.ID, nil, created)
		}
		before, after, err := successplan.UpdateMilestone(ctx, tx, m, time.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionUpdate, "success_milestone", msID, before, after)
	})
	if err != nil {
		form := "milestone-new"
		if msID != "" {
			form = "milestone-" + msID
		}
		return u.planFailed(w, rq, err, errs, form, func(d *planData) {
			if msID == "" {
				d.NewMilestone = f
			}
			for i := range d.Milestones {
				if d.Milestones[i].ID == msID {
					d.Milestones[i].Form = f
				}
			}
		})
	}
	redirectTo(w, rq, planURL(rq), "#milestones", rq.Loc.T("Milestone saved."))
	return nil
}

// planHandoffSave serves POST …/plan/handoff: the sales→CS handoff record,
// written by the signed-in user.
func (u *UI) planHandoffSave(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("id")
	h := account.Handoff{AccountID: id, WhyBought: rq.PostFormValue("why_bought"), Challenges: rq.PostFormValue("challenges"),
		Proposed: rq.PostFormValue("proposed"), Promised: rq.PostFormValue("promised"), SuccessCriteria: rq.PostFormValue("success_criteria"),
		DecisionMakers: rq.PostFormValue("decision_makers"), AuthorEmail: rq.User.Email}
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := account.Get(ctx, tx, id); err != nil {
			return err
		}
		before, err := account.GetHandoff(ctx, tx, id)
		var prev any = before
		action := audit.ActionUpdate
		if errors.Is(err, account.ErrNotFound) {
			prev, action = nil, audit.ActionCreate
		} else if err != nil {
			return err
		}
		if err := account.SetHandoff(ctx, tx, h); err != nil {
			return err
		}
		after, err := account.GetHandoff(ctx, tx, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), action, "handoff", id, prev, after)
	})
	if errors.Is(err, account.ErrNotFound) {
		return notFound(rq)
	}
	if err != nil {
		return err
	}
	c := successplan.Assess(h)
	redirectTo(w, rq, planURL(rq), "#handoff", rq.Loc.T("Handoff saved: %d%% complete.", c.Percent))
	return nil
}

// planShareCreate serves POST …/plan/shares: a new link for the customer,
// whose URL the page shows this once (only its hash is stored).
func (u *UI) planShareCreate(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id := rq.PathValue("id")
	var token string
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		sh, t, err := successplan.CreateShare(ctx, tx, id, actor(rq), time.Now())
		if err != nil {
			return err
		}
		token = t
		return audit.Record(ctx, tx, actor(rq), audit.ActionCreate, "success_plan_share", sh.ID, nil, sh)
	})
	if errors.Is(err, successplan.ErrNotFound) {
		return Errorf(http.StatusNotFound, rq.Loc.T("Save the success plan before sharing it."))
	}
	if err != nil {
		return err
	}
	d, err := u.planData(rq)
	if err != nil {
		return err
	}
	d.NewShareURL = rq.origin() + "/share/" + token
	rq.Notice = rq.Loc.T("Link made. Copy it now: it is shown only once.")
	return u.renderPlan(w, rq, http.StatusOK, d)
}

// planShareRevoke serves POST …/plan/shares/{share}/revoke: the link stops
// working at once.
func (u *UI) planShareRevoke(w http.ResponseWriter, rq *Request) error {
	ctx := rq.Context()
	id, shareID := rq.PathValue("id"), rq.PathValue("share")
	err := u.db.InTx(ctx, func(tx *sql.Tx) error {
		before, after, err := successplan.RevokeShare(ctx, tx, id, shareID, actor(rq), time.Now())
		if err != nil || before.RevokedAt != nil {
			return err
		}
		return audit.Record(ctx, tx, actor(rq), audit.ActionRevoke, "success_plan_share", shareID, before, after)
	})
	if errors.Is(err, successplan.ErrNotFound) {
		return notFound(rq)
	}
	if err != nil {
		return err
	}
	redirectTo(w, rq, planURL(rq), "#share", rq.Loc.T("Link revoked."))
	return nil
}
