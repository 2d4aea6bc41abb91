package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
)

// OnboardingDefinitionFields are the writable fields of the onboarding
// definition.
type OnboardingDefinitionFields struct {
	Rule       string `json:"rule" minLength:"1" maxLength:"4096" doc:"A condition over the snapshot's fields that must hold by the end of the window, such as setup_done && login_week_rate >= 0.6."`
	Applies    string `json:"applies,omitempty" maxLength:"4096" doc:"Optional: the accounts the definition applies to, such as tenure_days > 0; others are not_applicable."`
	WindowDays int    `json:"window_days" minimum:"1" maximum:"365" doc:"The window: days [signup, signup + window_days)."`
}

type onboardingDefinitionOutput struct {
	Body onboarding.OnboardingDefinition
}

type onboardingDefinitionPutInput struct{ Body OnboardingDefinitionFields }

type onboardingMilestoneList struct {
	Milestones []onboarding.ChecklistMilestone `json:"milestones"`
}

type onboardingMilestonesOutput struct{ Body onboardingMilestoneList }

// OnboardingMilestoneFields are the writable fields of a milestone.
type OnboardingMilestoneFields struct {
	Name     string `json:"name" minLength:"1" maxLength:"200"`
	Event    string `json:"event,omitempty" maxLength:"200" doc:"The usage event that completes it when first seen (setup_completed, reports); empty: by hand only."`
	Position int    `json:"position" doc:"Its place in the checklist, smallest first."`
}

type onboardingMilestonePutInput struct {
	MilestoneID string `path:"milestone_id" doc:"A slug such as setup or first_report."`
	Body        OnboardingMilestoneFields
}

type onboardingMilestoneKeyInput struct {
	MilestoneID string `path:"milestone_id"`
}

type onboardingMilestoneOutput struct{ Body onboarding.ChecklistMilestone }

type accountOnboardingInput struct {
	AccountID string `path:"account_id"`
}

type accountOnboardingOutput struct{ Body onboarding.AccountOnboarding }

// OnboardingCheck completes or uncompletes a milestone by hand.
type OnboardingCheck struct {
	Done bool       `json:"done" doc:"true completes the milestone, false uncompletes it (and keeps events from completing it again)."`
	At   *time.Time `json:"at,omitempty" doc:"When it was done; default now."`
}

type accountOnboardingCheckInput struct {
	AccountID   string `path:"account_id"`
	MilestoneID string `path:"milestone_id"`
	Body        OnboardingCheck
}

type onboardingItemOutput struct{ Body onboarding.ChecklistItem }

type onboardingReportInput struct {
	AsOf string `query:"as_of" doc:"A date (00:00 UTC) or an RFC 3339 time; default now."`
}

type onboardingReportOutput struct{ Body onboarding.CompletionReport }

// onboardingError turns an onboarding package error into the API's answer.
func (s *Server) onboardingError(ctx context.Context, err error) error {
	var fe *onboarding.FieldError
	switch {
	case errors.As(err, &fe):
		d := &huma.ErrorDetail{Message: fe.Error(), Location: "body." + fe.Field}
		if fe.Rule != nil {
			d.Value = fe.Rule.Snippet
		}
		return huma.Error422UnprocessableEntity(fe.Error(), d)
	case errors.Is(err, onboarding.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	}
	return s.internal(ctx, err)
}

func registerOnboarding(s *Server, api huma.API) {
	tags := []string{"Onboarding"}
	register(api, needRead, huma.Operation{
		OperationID: "get-onboarding-definition", Method: http.MethodGet, Path: "/onboarding/definition", Tags: tags,
		Summary:     "The onboarding definition",
		Description: "The definition in force: a rule read on the snapshot over a window from signup (version 0: the default, setup_done within the onboarding_days setting).",
	}, func(ctx context.Context, _ *struct{}) (*onboardingDefinitionOutput, error) {
		d, err := onboarding.Get(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &onboardingDefinitionOutput{Body: d}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "put-onboarding-definition", Method: http.MethodPut, Path: "/onboarding/definition", Tags: tags,
		Summary: "Replace the onboarding definition",
		Description: "Saves a new version after compiling its rules (a rule that does not compile is refused 422 with the line, " +
			"column and reason, at body.rule or body.applies). Every account is evaluated anew by the recompute_all it queues.",
		Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *onboardingDefinitionPutInput) (*onboardingDefinitionOutput, error) {
		var saved onboarding.OnboardingDefinition
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, err := onboarding.Get(ctx, tx)
			if err != nil {
				return err
			}
			actor := principalFrom(ctx).actor
			saved, err = onboarding.Save(ctx, tx, onboarding.OnboardingDefinition{Rule: in.Body.Rule, Applies: in.Body.Applies, WindowDays: in.Body.WindowDays}, actor, time.Now())
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, actor, audit.ActionUpdate, "onboarding_definition", "current", before, saved)
		})
		if err != nil {
			return nil, s.onboardingError(ctx, err)
		}
		jobs.ChangedAll(ctx) // every account's result is stale
		return &onboardingDefinitionOutput{Body: saved}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-onboarding-milestones", Method: http.MethodGet, Path: "/onboarding/milestones", Tags: tags,
		Summary: "The onboarding checklist", Description: "Its milestones in order.",
	}, func(ctx context.Context, _ *struct{}) (*onboardingMilestonesOutput, error) {
		ms, err := onboarding.Milestones(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &onboardingMilestonesOutput{Body: onboardingMilestoneList{Milestones: orEmpty(ms)}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "put-onboarding-milestone", Method: http.MethodPut, Path: "/onboarding/milestones/{milestone_id}", Tags: tags,
		Summary:     "Create or replace a milestone",
		Description: "A milestone with an event is completed for each account by the recompute once that event is seen in its usage.",
		Errors:      []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *onboardingMilestonePutInput) (*onboardingMilestoneOutput, error) {
		m := onboarding.ChecklistMilestone{ID: in.MilestoneID, Name: in.Body.Name, Event: in.Body.Event, Position: in.Body.Position}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, err := onboarding.GetMilestone(ctx, tx, m.ID)
			var old any = before
			if errors.Is(err, onboarding.ErrNotFound) {
				old = nil
			} else if err != nil {
				return err
			}
			created, err := onboarding.PutMilestone(ctx, tx, m, time.Now())
			if err != nil {
				return err
			}
			action := audit.ActionUpdate
			if created {
				action = audit.ActionCreate
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, action, "onboarding_milestone", m.ID, old, m)
		})
		if err != nil {
			return nil, s.onboardingError(ctx, err)
		}
		return &onboardingMilestoneOutput{Body: m}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "delete-onboarding-milestone", Method: http.MethodDelete, Path: "/onboarding/milestones/{milestone_id}", Tags: tags,
		Summary: "Delete a milestone", Description: "Removes it from the checklist with every account's completion of it.",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *onboardingMilestoneKeyInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "onboarding_milestone", in.MilestoneID,
			func(tx *sql.Tx) (any, error) { return onboarding.GetMilestone(ctx, tx, in.MilestoneID) },
			func(tx *sql.Tx) error { return onboarding.DeleteMilestone(ctx, tx, in.MilestoneID) })
		if err != nil {
			return nil, s.onboardingError(ctx, err)
		}
		return nil, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-account-onboarding", Method: http.MethodGet, Path: "/accounts/{account_id}/onboarding", Tags: tags,
		Summary: "An account's onboarding",
		Description: "Status (completed, in_progress, overdue, not_applicable), days elapsed since signup, due date, completion " +
			"date and time to value, and the checklist with who completed what and when.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *accountOnboardingInput) (*accountOnboardingOutput, error) {
		st, err := onboarding.AccountStatus(ctx, s.db, in.AccountID, time.Now().UTC().Truncate(time.Second))
		if err != nil {
			return nil, s.onboardingError(ctx, err)
		}
		st.Checklist = orEmpty(st.Checklist)
		return &accountOnboardingOutput{Body: st}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "check-account-onboarding-milestone", Method: http.MethodPut,
		Path: "/accounts/{account_id}/onboarding/milestones/{milestone_id}", Tags: tags,
		Summary: "Complete or uncomplete a milestone by hand",
		Description: "Records who (the caller) and when; an item uncompleted by hand is not completed again from events. " +
			"The account's onboarding is evaluated anew by the recompute this queues.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *accountOnboardingCheckInput) (*onboardingItemOutput, error) {
		at := time.Now()
		if in.Body.At != nil {
			at = *in.Body.At
		}
		var after onboarding.ChecklistItem
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			actor := principalFrom(ctx).actor
			before, a, err := onboarding.SetDone(ctx, tx, in.AccountID, in.MilestoneID, in.Body.Done, at, actor)
			if err != nil {
				return err
			}
			after = a
			return audit.Record(ctx, tx, actor, audit.ActionUpdate, "onboarding_checklist", in.AccountID+"/"+in.MilestoneID, before, after)
		})
		if err != nil {
			return nil, s.onboardingError(ctx, err)
		}
		jobs.Changed(ctx, []string{in.AccountID})
		return &onboardingItemOutput{Body: after}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-onboarding-report", Method: http.MethodGet, Path: "/onboarding/report", Tags: tags,
		Summary: "Onboarding completion and time to value",
		Description: "Completion rate (within the window, over closed windows) and median days to value by signup month and by " +
			"tier (the tier_attribute setting), and the churn of completers against those who missed onboarding.",
	}, func(ctx context.Context, in *onboardingReportInput) (*onboardingReportOutput, error) {
		at, err := instantParam("as_of", in.AsOf)
		if err != nil {
			return nil, err
		}
		rep, err := onboarding.BuildReport(ctx, s.db, at)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &onboardingReportOutput{Body: *rep}, nil
	})
}
