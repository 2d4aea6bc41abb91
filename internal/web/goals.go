package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/goal"
)

// KPIGoalFields are the writable fields of a KPI goal.
type KPIGoalFields struct {
	Name        string         `json:"name" minLength:"1" maxLength:"200"`
	Description string         `json:"description,omitempty" maxLength:"5000"`
	Metric      string         `json:"metric" doc:"A key of kizuna metrics monthly (mrr, customers, logo_churn_rate, nrr_12m, ...; with --extended: revenue_churn_rate, ...), arr, nps, csat or ces; nrr and grr are accepted for nrr_12m and grr_12m."`
	Scope       goal.GoalScope `json:"scope,omitempty"`
	Target      float64        `json:"target" doc:"In the metric's unit: rates as fractions (0.02 for 2%), amounts in the reporting currency, NPS in points."`
	Direction   string         `json:"direction,omitempty" enum:"at_least,at_most" doc:"Default from the metric: at_most for churn rates, lost MRR, CAC and CES, at_least for the rest."`
	Baseline    *float64       `json:"baseline,omitempty" doc:"Where progress counts from; absent: the actual at the end of the month before the start."`
	StartDate   string         `json:"start_date,omitempty" doc:"YYYY-MM-DD; default today (on creation) or unchanged (on replacement)."`
	Deadline    string         `json:"deadline" doc:"YYYY-MM-DD: the goal is judged on the figures of this date's month."`
	OwnerEmail  string         `json:"owner_email" doc:"The email of the Kizuna user who owns the goal."`
	ParentID    string         `json:"parent_id,omitempty" maxLength:"100" doc:"The goal this one serves: its deadline must not be before this one's."`
}

// KPIGoalCreate is the body of POST /goals.
type KPIGoalCreate struct {
	ID string `json:"id" minLength:"1" maxLength:"100" doc:"A slug, such as nrr-2026."`
	KPIGoalFields
}

type kpiGoalKeyInput struct {
	GoalID string `path:"goal_id"`
}

type kpiGoalCreateInput struct{ Body KPIGoalCreate }

type kpiGoalPutInput struct {
	GoalID string `path:"goal_id"`
	Body   KPIGoalFields
}

type kpiGoalOutput struct {
	Location string `header:"Location" doc:"The goal's URL (on creation)."`
	Body     goal.Goal
}

type kpiGoalTrackedOutput struct{ Body goal.TrackedGoal }

type kpiGoalListOutput struct {
	Body struct {
		Goals []goal.TrackedGoal `json:"goals" doc:"In tree order: each goal followed by its children, soonest deadline first."`
	}
}

// kpiGoalError answers a goal operation's error.
func (s *Server) kpiGoalError(ctx context.Context, err error) error {
	var (
		se huma.StatusError
		ve *goal.ValidationError
	)
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, goal.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, goal.ErrExists), errors.Is(err, goal.ErrHasChildren):
		return huma.Error409Conflict(err.Error())
	case errors.As(err, &ve):
		return huma.Error422UnprocessableEntity("invalid "+ve.Field+": "+ve.Message,
			&huma.ErrorDetail{Message: ve.Message, Location: "body." + ve.Field})
	}
	return s.internal(ctx, err)
}

// kpiGoalFrom turns the body's fields into a goal.
func kpiGoalFrom(id string, f KPIGoalFields) (goal.Goal, error) {
	g := goal.Goal{ID: id, Name: f.Name, Description: f.Description, Metric: f.Metric, Scope: f.Scope, Target: f.Target,
		Direction: f.Direction, Baseline: f.Baseline, Owner: f.OwnerEmail, ParentID: f.ParentID}
	for _, d := range []struct {
		field, value string
		into         *time.Time
	}{{"start_date", f.StartDate, &g.Start}, {"deadline", f.Deadline, &g.Deadline}} {
		v := strings.TrimSpace(d.value)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return g, huma.Error422UnprocessableEntity("invalid "+d.field+": want YYYY-MM-DD",
				&huma.ErrorDetail{Message: "want YYYY-MM-DD", Location: "body." + d.field, Value: d.value})
		}
		*d.into = t
	}
	return g, nil
}

func registerGoals(s *Server, api huma.API) {
	const tag = "Goals"
	register(api, needRead, huma.Operation{
		OperationID: "list-goals", Method: http.MethodGet, Path: "/goals", Tags: []string{tag},
		Summary: "List KPI goals with their tracking",
		Description: "Every goal with its month-end actuals, baseline, latest actual, progress, trend, forecast to the " +
			"deadline and status (achieved, on_track, at_risk, off_track, missed, stale, no_data), and its children's summaries.",
	}, func(ctx context.Context, _ *struct{}) (*kpiGoalListOutput, error) {
		list, err := goal.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		tracked, _, err := goal.Report(ctx, list, time.Now(), goal.Direct(s.db))
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &kpiGoalListOutput{}
		out.Body.Goals = tracked
		return out, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "create-goal", Method: http.MethodPost, Path: "/goals", Tags: []string{tag},
		Summary: "Create a KPI goal", DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *kpiGoalCreateInput) (*kpiGoalOutput, error) {
		g, err := kpiGoalFrom(in.Body.ID, in.Body.KPIGoalFields)
		if err != nil {
			return nil, err
		}
		g.CreatedBy = principalFrom(ctx).email()
		out, err := createRecorded(ctx, s, "goal", func(g goal.Goal) string { return g.ID },
			func(tx *sql.Tx) (goal.Goal, error) { return goal.Create(ctx, tx, g, time.Now()) })
		if err != nil {
			return nil, s.kpiGoalError(ctx, err)
		}
		return &kpiGoalOutput{Location: apiPrefix + "/goals/" + out.ID, Body: out}, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "get-goal", Method: http.MethodGet, Path: "/goals/{goal_id}", Tags: []string{tag},
		Summary: "Get a KPI goal with its actuals, forecast, status and children", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *kpiGoalKeyInput) (*kpiGoalTrackedOutput, error) {
		t, _, err := goal.ReportOne(ctx, s.db, in.GoalID, time.Now(), goal.Direct(s.db))
		if err != nil {
			return nil, s.kpiGoalError(ctx, err)
		}
		return &kpiGoalTrackedOutput{Body: t}, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "put-goal", Method: http.MethodPut, Path: "/goals/{goal_id}", Tags: []string{tag},
		Summary: "Replace a KPI goal's definition",
		Errors:  []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *kpiGoalPutInput) (*kpiGoalOutput, error) {
		g, err := kpiGoalFrom(in.GoalID, in.Body)
		if err != nil {
			return nil, err
		}
		out, err := updateRecorded(ctx, s, "goal", in.GoalID,
			func(tx *sql.Tx) (goal.Goal, error) { return goal.Get(ctx, tx, in.GoalID) },
			func(tx *sql.Tx, _ goal.Goal) (goal.Goal, error) { return goal.Update(ctx, tx, g, time.Now()) })
		if err != nil {
			return nil, s.kpiGoalError(ctx, err)
		}
		return &kpiGoalOutput{Body: out}, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "delete-goal", Method: http.MethodDelete, Path: "/goals/{goal_id}", Tags: []string{tag},
		Summary: "Delete a KPI goal", Description: "A goal with child goals is refused (409 naming them).",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *kpiGoalKeyInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "goal", in.GoalID,
			func(tx *sql.Tx) (any, error) { return goal.Get(ctx, tx, in.GoalID) },
			func(tx *sql.Tx) error { return goal.Delete(ctx, tx, in.GoalID) })
		if err != nil {
			return nil, s.kpiGoalError(ctx, err)
		}
		return nil, nil
	})
}
