package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/successplan"
)

// PlanFields are the body of PUT /accounts/{account_id}/success-plan.
type PlanFields struct {
	Title      string `json:"title,omitempty" maxLength:"500" doc:"The plan's heading on the shared page; default the account's name."`
	Language   string `json:"language,omitempty" enum:"en,ja" doc:"The customer's language, for the shared page; default en."`
	Status     string `json:"status,omitempty" enum:"draft,active,completed,archived" doc:"Default draft."`
	OwnerEmail string `json:"owner_email,omitempty" maxLength:"320" doc:"Who runs the plan; default the user making the request."`
}

// GoalFields are the body of POST and PUT of a goal: PUT replaces every field.
type GoalFields struct {
	Title         string   `json:"title" minLength:"1" maxLength:"500"`
	Description   string   `json:"description,omitempty" maxLength:"10000"`
	Tracking      string   `json:"tracking,omitempty" enum:"rule,metric,manual" doc:"Default manual."`
	Rule          string   `json:"rule,omitempty" maxLength:"4096" doc:"With tracking rule: a condition over the snapshot's fields (GET /api/v1/snapshot/fields)."`
	Metric        string   `json:"metric,omitempty" maxLength:"4096" doc:"With tracking metric: a number over the snapshot's fields."`
	Baseline      *float64 `json:"baseline,omitempty" doc:"With tracking metric: where progress starts (default 0)."`
	Target        *float64 `json:"target,omitempty" doc:"With tracking metric: the value that meets the criterion."`
	ManualPercent float64  `json:"manual_percent,omitempty" minimum:"0" maximum:"100" doc:"With tracking manual: progress in percent."`
	Status        string   `json:"status,omitempty" enum:"draft,agreed,achieved,dropped" doc:"Default draft; the customer sees agreed and achieved goals."`
	Source        string   `json:"source,omitempty" enum:"manual,handoff,prospect" doc:"Default manual (on PUT: the goal's source stays when left out)."`
	DueAt         string   `json:"due_at,omitempty" doc:"YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time."`
}

// MilestoneFields are the body of POST and PUT of a milestone: PUT replaces every field.
type MilestoneFields struct {
	Title      string `json:"title" minLength:"1" maxLength:"500"`
	GoalID     string `json:"goal_id,omitempty" doc:"The goal of this plan it leads to."`
	OwnerEmail string `json:"owner_email,omitempty" maxLength:"320" doc:"Who does it: one of us or the customer's contact."`
	DueAt      string `json:"due_at,omitempty" doc:"YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time."`
	Status     string `json:"status,omitempty" enum:"open,done,skipped" doc:"Default open."`
}

// PlanOut is a plan as the API shows it.
type PlanOut struct {
	successplan.PlanView
	Handoff PlanHandoff             `json:"handoff"`
	Shares  []successplan.PlanShare `json:"shares" doc:"The links made for the customer, newest first, without their tokens."`
}

// PlanHandoff is what the sales handoff offers the plan.
type PlanHandoff struct {
	Exists       bool                            `json:"exists"`
	Completeness successplan.HandoffCompleteness `json:"completeness"`
	Suggestions  []successplan.GoalSuggestion    `json:"suggested_goals" doc:"The handoff's success criteria that no goal has yet: POST …/goals/from-handoff makes them draft goals."`
}

type planKeyInput struct {
	AccountID string `path:"account_id" doc:"The account."`
}

type planPutInput struct {
	AccountID string `path:"account_id" doc:"The account, which must exist."`
	Body      PlanFields
}

type planOutput struct {
	Status int
	Body   PlanOut
}

type listPlansInput struct {
	PageParams
	Status string `query:"status" enum:"draft,active,completed,archived" doc:"Only plans in this state."`
}

type planPage struct {
	Plans      []successplan.SuccessPlan `json:"plans" doc:"In account id order."`
	NextCursor string                    `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type planPageOutput struct{ Body planPage }

type goalCreateInput struct {
	AccountID string `path:"account_id" doc:"The account, which must exist; its plan is created as a draft when it has none."`
	Body      GoalFields
}

type goalKeyInput struct {
	AccountID string `path:"account_id" doc:"The account."`
	GoalID    string `path:"goal_id" doc:"The goal."`
}

type goalPutInput struct {
	AccountID string `path:"account_id" doc:"The account."`
	GoalID    string `path:"goal_id" doc:"The goal."`
	Body      GoalFields
}

type goalOutput struct {
	Location string `header:"Location" doc:"The goal's URL (on creation)."`
	Body     successplan.PlanGoalView
}

type goalsFromHandoffOutput struct {
	Body struct {
		PlanCreated bool                       `json:"plan_created" doc:"The account had no plan: a draft one was made."`
		Goals       []successplan.PlanGoalView `json:"goals" doc:"The draft goals made, one per success criterion that had none; empty when every criterion already is a goal."`
	}
}

type milestoneCreateInput struct {
	AccountID string `path:"account_id" doc:"The account, whose plan must exist."`
	Body      MilestoneFields
}

type milestoneKeyInput struct {
	AccountID   string `path:"account_id" doc:"The account."`
	MilestoneID string `path:"milestone_id" doc:"The milestone."`
}

type milestonePutInput struct {
	AccountID   string `path:"account_id" doc:"The account."`
	MilestoneID string `path:"milestone_id" doc:"The milestone."`
	Body        MilestoneFields
}

type milestoneOutput struct {
	Location string `header:"Location" doc:"The milestone's URL (on creation)."`
	Body     successplan.PlanMilestoneView
}

// NewShare is a link just made: its token is shown this once.
type NewShare struct {
	successplan.PlanShare
	Token string `json:"token" doc:"The secret part of the link; stored only as a hash, so it cannot be shown again."`
	URL   string `json:"url" doc:"The page's path on this server: /share/{token}. Anyone with it can read the plan's agreed goals until it is revoked."`
}

type shareCreateOutput struct {
	Body NewShare
}

type shareListOutput struct {
	Body struct {
		Shares []successplan.PlanShare `json:"shares"`
	}
}

type shareKeyInput struct {
	AccountID string `path:"account_id" doc:"The account."`
	ShareID   string `path:"share_id" doc:"The link's id."`
}

type shareOutput struct{ Body successplan.PlanShare }

// planError answers a success-plan operation's error: 404, 422 naming the
// field, or 500.
func (s *Server) planError(ctx context.Context, err error) error {
	var (
		se huma.StatusError
		ve *successplan.ValidationError
		re *successplan.RuleError
		rr *rule.Error
	)
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, successplan.ErrNotFound), errors.Is(err, account.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.As(err, &re) && errors.As(err, &rr):
		return huma.Error422UnprocessableEntity("the "+re.Field+" does not compile: "+rr.Error(),
			&huma.ErrorDetail{Message: rr.Error(), Location: "body." + re.Field, Value: rr.Snippet})
	case errors.As(err, &ve):
		return huma.Error422UnprocessableEntity("invalid "+ve.Field+": "+ve.Message,
			&huma.ErrorDetail{Message: ve.Message, Location: "body." + ve.Field})
	}
	return s.internal(ctx, err)
}

// requirePlanAccount answers 404 unless the account exists.
func requirePlanAccount(ctx context.Context, q store.Querier, id string) error {
	found, err := account.Existing(ctx, q, []string{id})
	if err != nil {
		return err
	}
	if !found[id] {
		return huma.Error404NotFound("no account " + id)
	}
	return nil
}

// goalFrom checks f and returns the goal it describes.
func goalFrom(c *checker, accountID string, f GoalFields) successplan.PlanGoal {
	g := successplan.PlanGoal{AccountID: accountID, Title: strings.TrimSpace(f.Title), Description: f.Description, Tracking: f.Tracking,
		Rule: strings.TrimSpace(f.Rule), Metric: strings.TrimSpace(f.Metric), Baseline: f.Baseline, Target: f.Target,
		ManualPercent: f.ManualPercent, Status: f.Status, Source: f.Source}
	if due, ok := c.time("due_at", &f.DueAt, false); ok {
		g.DueAt = &due
	}
	return g
}

// milestoneFrom checks f and returns the milestone it describes.
func milestoneFrom(c *checker, accountID string, f MilestoneFields) successplan.PlanMilestone {
	c.email("owner_email", &f.OwnerEmail)
	m := successplan.PlanMilestone{AccountID: accountID, GoalID: strings.TrimSpace(f.GoalID), Title: strings.TrimSpace(f.Title),
		OwnerEmail: f.OwnerEmail, Status: f.Status}
	if due, ok := c.time("due_at", &f.DueAt, false); ok {
		m.DueAt = &due
	}
	return m
}

// loadPlanOut reads a plan with its evaluation, handoff and links.
func (s *Server) loadPlanOut(ctx context.Context, accountID string, now time.Time) (PlanOut, error) {
	v, err := successplan.Load(ctx, s.db, accountID, now)
	if err != nil {
		return PlanOut{}, err
	}
	out := PlanOut{PlanView: v}
	goals := make([]successplan.PlanGoal, len(v.Goals))
	for i, g := range v.Goals {
		goals[i] = g.PlanGoal
	}
	h, err := account.GetHandoff(ctx, s.db, accountID)
	switch {
	case err == nil:
		out.Handoff = PlanHandoff{Exists: true, Completeness: successplan.Assess(h), Suggestions: successplan.Suggestions(h, goals)}
	case errors.Is(err, account.ErrNotFound):
		out.Handoff = PlanHandoff{Completeness: successplan.Assess(account.Handoff{}), Suggestions: []successplan.GoalSuggestion{}}
	default:
		return out, err
	}
	if out.Shares, err = successplan.Shares(ctx, s.db, accountID); err != nil {
		return out, err
	}
	out.Shares = orEmpty(out.Shares)
	return out, nil
}

// goalView evaluates one goal on the account's current snapshot.
func (s *Server) goalView(ctx context.Context, g successplan.PlanGoal) (successplan.PlanGoalView, error) {
	v, err := successplan.Load(ctx, s.db, g.AccountID, time.Now())
	if err != nil {
		return successplan.PlanGoalView{}, err
	}
	for _, gv := range v.Goals {
		if gv.ID == g.ID {
			return gv, nil
		}
	}
	return successplan.PlanGoalView{PlanGoal: g, Progress: successplan.Evaluate(g, nil)}, nil
}

func registerSuccessPlans(s *Server, api huma.API) {
	const tag = "Success plans"
	plan := "/accounts/{account_id}/success-plan"

	register(api, needRead, huma.Operation{
		OperationID: "list-success-plans", Method: http.MethodGet, Path: "/success-plans", Tags: []string{tag},
		Summary: "List success plans", Description: "A page of success plans (without their goals), by account id.",
	}, func(ctx context.Context, in *listPlansInput) (*planPageOutput, error) {
		limit := in.Limit
		if limit <= 0 {
			limit = defaultLimit
		}
		list, err := successplan.ListPlans(ctx, s.db, in.Status, in.After, limit+1)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &planPageOutput{}
		if len(list) > limit {
			list = list[:limit]
			out.Body.NextCursor = list[limit-1].AccountID
		}
		out.Body.Plans = orEmpty(list)
		return out, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "get-success-plan", Method: http.MethodGet, Path: plan, Tags: []string{tag},
		Summary: "Get an account's success plan",
		Description: "The plan with every goal's progress evaluated on the account's current snapshot, its milestones " +
			"(with overdue flags), the handoff's completeness and the success criteria it offers as goals, and the links " +
			"made for the customer.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *planKeyInput) (*planOutput, error) {
		out, err := s.loadPlanOut(ctx, in.AccountID, time.Now())
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &planOutput{Status: http.StatusOK, Body: out}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "put-success-plan", Method: http.MethodPut, Path: plan, Tags: []string{tag},
		Summary:     "Create or replace an account's success plan",
		Description: "Sets the plan's own fields (goals, milestones and links stay). Answers 201 when it was created.",
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *planPutInput) (*planOutput, error) {
		p := principalFrom(ctx)
		f := in.Body
		status := http.StatusOK
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := requirePlanAccount(ctx, tx, in.AccountID); err != nil {
				return err
			}
			c := newChecker(tx, p, nil)
			if f.OwnerEmail == "" {
				f.OwnerEmail = p.email()
			}
			c.email("owner_email", &f.OwnerEmail)
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			if f.Title == "" {
				a, err := account.Get(ctx, tx, in.AccountID)
				if err != nil {
					return err
				}
				f.Title = a.Name
			}
			before, err := successplan.GetPlan(ctx, tx, in.AccountID)
			exists := err == nil
			if err != nil && !errors.Is(err, successplan.ErrNotFound) {
				return err
			}
			after, err := successplan.PutPlan(ctx, tx, successplan.SuccessPlan{AccountID: in.AccountID, Title: f.Title, Language: f.Language,
				Status: f.Status, OwnerEmail: f.OwnerEmail}, time.Now())
			if err != nil {
				return err
			}
			if !exists {
				status = http.StatusCreated
				return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "success_plan", in.AccountID, nil, after)
			}
			before.UpdatedAt, after.UpdatedAt = time.Time{}, time.Time{}
			if sameJSON(before, after) {
				return nil
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionUpdate, "success_plan", in.AccountID, before, after)
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		out, err := s.loadPlanOut(ctx, in.AccountID, time.Now())
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &planOutput{Status: status, Body: out}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "delete-success-plan", Method: http.MethodDelete, Path: plan, Tags: []string{tag},
		Summary:       "Delete an account's success plan",
		Description:   "Removes the plan with its goals, milestones and links (every link stops working).",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *planKeyInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "success_plan", in.AccountID,
			func(tx *sql.Tx) (any, error) { return successplan.Load(ctx, tx, in.AccountID, time.Now()) },
			func(tx *sql.Tx) error { return successplan.DeletePlan(ctx, tx, in.AccountID) })
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return nil, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "create-success-goal", Method: http.MethodPost, Path: plan + "/goals", Tags: []string{tag},
		Summary: "Add a goal to an account's success plan",
		Description: "Adds a goal at the end of the plan (creating a draft plan when the account has none). A rule or " +
			"metric that does not compile is refused (422) with its line, column and reason.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *goalCreateInput) (*goalOutput, error) {
		p := principalFrom(ctx)
		var created successplan.PlanGoal
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := requirePlanAccount(ctx, tx, in.AccountID); err != nil {
				return err
			}
			c := newChecker(tx, p, nil)
			g := goalFrom(c, in.AccountID, in.Body)
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			now := time.Now()
			plan, made, err := successplan.EnsurePlan(ctx, tx, in.AccountID, p.email(), now)
			if err != nil {
				return err
			}
			if made {
				if err := audit.Record(ctx, tx, p.actor, audit.ActionCreate, "success_plan", in.AccountID, nil, plan); err != nil {
					return err
				}
			}
			if created, err = successplan.AddGoal(ctx, tx, g, now); err != nil {
				return err
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "success_goal", created.ID, nil, created)
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		v, err := s.goalView(ctx, created)
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &goalOutput{Location: apiPrefix + "/accounts/" + in.AccountID + "/success-plan/goals/" + created.ID, Body: v}, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "get-success-goal", Method: http.MethodGet, Path: plan + "/goals/{goal_id}", Tags: []string{tag},
		Summary: "Get one goal with its progress", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *goalKeyInput) (*goalOutput, error) {
		g, err := successplan.GetGoal(ctx, s.db, in.AccountID, in.GoalID)
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		v, err := s.goalView(ctx, g)
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &goalOutput{Body: v}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "put-success-goal", Method: http.MethodPut, Path: plan + "/goals/{goal_id}", Tags: []string{tag},
		Summary:     "Replace a goal",
		Description: "Stores the goal as sent: fields left out are cleared (source and position stay when left out).",
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *goalPutInput) (*goalOutput, error) {
		p := principalFrom(ctx)
		var after successplan.PlanGoal
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			c := newChecker(tx, p, nil)
			g := goalFrom(c, in.AccountID, in.Body)
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			g.ID = in.GoalID
			if g.Source == "" {
				cur, err := successplan.GetGoal(ctx, tx, in.AccountID, in.GoalID)
				if err != nil {
					return err
				}
				g.Source = cur.Source
			}
			before, a, err := successplan.UpdateGoal(ctx, tx, g, time.Now())
			if err != nil {
				return err
			}
			after = a
			before.UpdatedAt, a.UpdatedAt = time.Time{}, time.Time{}
			if sameJSON(before, a) {
				return nil
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionUpdate, "success_goal", in.GoalID, before, after)
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		v, err := s.goalView(ctx, after)
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &goalOutput{Body: v}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "delete-success-goal", Method: http.MethodDelete, Path: plan + "/goals/{goal_id}", Tags: []string{tag},
		Summary: "Delete a goal", Description: "Its milestones stay, as steps of the whole plan.",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *goalKeyInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "success_goal", in.GoalID,
			func(tx *sql.Tx) (any, error) { return successplan.GetGoal(ctx, tx, in.AccountID, in.GoalID) },
			func(tx *sql.Tx) error { return successplan.DeleteGoal(ctx, tx, in.AccountID, in.GoalID) })
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return nil, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "success-goals-from-handoff", Method: http.MethodPost, Path: plan + "/goals/from-handoff", Tags: []string{tag},
		Summary: "Make the handoff's success criteria the plan's first goals",
		Description: "Adds a draft goal (tracked by hand until given a rule or metric) for each success criterion of the " +
			"account's sales handoff (one a line; semicolons also separate) that the plan has no goal of that title for, " +
			"creating a draft plan when there is none. Calling it again adds nothing new. 404 without a handoff record.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *planKeyInput) (*goalsFromHandoffOutput, error) {
		p := principalFrom(ctx)
		out := &goalsFromHandoffOutput{}
		var goals []successplan.PlanGoal
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			h, err := account.GetHandoff(ctx, tx, in.AccountID)
			if errors.Is(err, account.ErrNotFound) {
				return huma.Error404NotFound("account " + in.AccountID + " has no handoff record (or does not exist)")
			}
			if err != nil {
				return err
			}
			now := time.Now()
			var made bool
			goals, made, err = successplan.GoalsFromHandoff(ctx, tx, h, p.email(), now)
			if err != nil {
				return err
			}
			out.Body.PlanCreated = made
			if made {
				plan, err := successplan.GetPlan(ctx, tx, in.AccountID)
				if err != nil {
					return err
				}
				if err := audit.Record(ctx, tx, p.actor, audit.ActionCreate, "success_plan", in.AccountID, nil, plan); err != nil {
					return err
				}
			}
			for _, g := range goals {
				if err := audit.Record(ctx, tx, p.actor, audit.ActionCreate, "success_goal", g.ID, nil, g); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		out.Body.Goals = make([]successplan.PlanGoalView, len(goals))
		for i, g := range goals {
			out.Body.Goals[i] = successplan.PlanGoalView{PlanGoal: g, Progress: successplan.Evaluate(g, nil)}
		}
		return out, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "create-success-milestone", Method: http.MethodPost, Path: plan + "/milestones", Tags: []string{tag},
		Summary: "Add a milestone to an account's success plan", DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *milestoneCreateInput) (*milestoneOutput, error) {
		p := principalFrom(ctx)
		var created successplan.PlanMilestone
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			c := newChecker(tx, p, nil)
			m := milestoneFrom(c, in.AccountID, in.Body)
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			var err error
			if created, err = successplan.AddMilestone(ctx, tx, m, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "success_milestone", created.ID, nil, created)
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &milestoneOutput{Location: apiPrefix + "/accounts/" + in.AccountID + "/success-plan/milestones/" + created.ID,
			Body: successplan.PlanMilestoneView{PlanMilestone: created, Overdue: created.Overdue(time.Now())}}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "put-success-milestone", Method: http.MethodPut, Path: plan + "/milestones/{milestone_id}", Tags: []string{tag},
		Summary:     "Replace a milestone",
		Description: "Stores the milestone as sent: fields left out are cleared. Done or skipped records when; open again clears it.",
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *milestonePutInput) (*milestoneOutput, error) {
		p := principalFrom(ctx)
		var after successplan.PlanMilestone
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			c := newChecker(tx, p, nil)
			m := milestoneFrom(c, in.AccountID, in.Body)
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			m.ID = in.MilestoneID
			if m.Status == "" {
				m.Status = successplan.MilestoneOpen
			}
			before, a, err := successplan.UpdateMilestone(ctx, tx, m, time.Now())
			if err != nil {
				return err
			}
			after = a
			before.UpdatedAt, a.UpdatedAt = time.Time{}, time.Time{}
			if sameJSON(before, a) {
				return nil
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionUpdate, "success_milestone", in.MilestoneID, before, after)
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &milestoneOutput{Body: successplan.PlanMilestoneView{PlanMilestone: after, Overdue: after.Overdue(time.Now())}}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "delete-success-milestone", Method: http.MethodDelete, Path: plan + "/milestones/{milestone_id}", Tags: []string{tag},
		Summary: "Delete a milestone", DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *milestoneKeyInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "success_milestone", in.MilestoneID,
			func(tx *sql.Tx) (any, error) { return successplan.GetMilestone(ctx, tx, in.AccountID, in.MilestoneID) },
			func(tx *sql.Tx) error { return successplan.DeleteMilestone(ctx, tx, in.AccountID, in.MilestoneID) })
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return nil, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "create-success-plan-share", Method: http.MethodPost, Path: plan + "/shares", Tags: []string{tag},
		Summary: "Make a link for the customer",
		Description: "Makes an unguessable link (256 random bits) to a read-only page showing the plan's agreed and " +
			"achieved goals with their progress, in the plan's language, to anyone holding it, with no login. The token " +
			"is in this answer only (it is stored hashed); revoke the link with DELETE when it should stop working.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *planKeyInput) (*shareCreateOutput, error) {
		p := principalFrom(ctx)
		out := &shareCreateOutput{}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			sh, token, err := successplan.CreateShare(ctx, tx, in.AccountID, p.actor, time.Now())
			if err != nil {
				return err
			}
			out.Body = NewShare{PlanShare: sh, Token: token, URL: "/share/" + token}
			return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "success_plan_share", sh.ID, nil, sh)
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return out, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "list-success-plan-shares", Method: http.MethodGet, Path: plan + "/shares", Tags: []string{tag},
		Summary: "The links made for the customer", Description: "Newest first, revoked ones too, without their tokens.",
	}, func(ctx context.Context, in *planKeyInput) (*shareListOutput, error) {
		list, err := successplan.Shares(ctx, s.db, in.AccountID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &shareListOutput{}
		out.Body.Shares = orEmpty(list)
		return out, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "revoke-success-plan-share", Method: http.MethodDelete, Path: plan + "/shares/{share_id}", Tags: []string{tag},
		Summary:     "Revoke a link",
		Description: "The link stops working at once (its page answers 410 Gone); the record of it stays. Revoking twice changes nothing.",
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *shareKeyInput) (*shareOutput, error) {
		p := principalFrom(ctx)
		var after successplan.PlanShare
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, a, err := successplan.RevokeShare(ctx, tx, in.AccountID, in.ShareID, p.actor, time.Now())
			if err != nil {
				return err
			}
			after = a
			if before.RevokedAt != nil {
				return nil
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionRevoke, "success_plan_share", in.ShareID, before, after)
		})
		if err != nil {
			return nil, s.planError(ctx, err)
		}
		return &shareOutput{Body: after}, nil
	})

	// The customer's page (GET /share/{token}, no login) is the UI's:
	// internal/web/ui/share_page.go.
}
