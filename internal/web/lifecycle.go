package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// StageFields are the writable fields of a lifecycle stage.
type StageFields struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"10000"`
	Rule        string `json:"rule" minLength:"1" maxLength:"4096" doc:"A condition over the snapshot's fields (GET /api/v1/snapshot/fields); stage and days_in_stage in it are the stage before this evaluation."`
	Priority    int    `json:"priority" minimum:"0" maximum:"1000000" doc:"Stages are tried in ascending priority (ties by id); the first whose rule matches is the account's stage."`
}

// StageCreate is the body of POST /stages.
type StageCreate struct {
	StageID string `json:"stage_id" minLength:"1" maxLength:"63" doc:"A slug: lower-case letters, digits and _, starting with a letter, such as renewal; rules name it: stage == \"renewal\"."`
	StageFields
}

type stageKeyInput struct {
	StageID string `path:"stage_id" doc:"The stage's id."`
}

type stagePutInput struct {
	StageID string `path:"stage_id" doc:"The stage's id."`
	Body    StageFields
}

type stageCreateInput struct{ Body StageCreate }

// savedStage is a stage as saved, with how many accounts its save moved.
type savedStage struct {
	lifecycle.StageDefinition
	Moved int `json:"moved" doc:"Accounts whose stage changed when every account was classified again on save."`
}

type savedStageOutput struct {
	Location string `header:"Location" doc:"The stage's URL (on creation)."`
	Body     savedStage
}

type stageOutput struct{ Body lifecycle.StageDefinition }

type stageList struct {
	Stages []lifecycle.StageDefinition `json:"stages" doc:"In evaluation order: ascending priority, then id."`
}

type stageListOutput struct{ Body stageList }

type stageDeleted struct {
	Moved int `json:"moved" doc:"Accounts whose stage changed when every account was classified again."`
}

type stageDeletedOutput struct{ Body stageDeleted }

type atInput struct {
	At string `query:"at" doc:"The moment: a date (00:00 UTC) or an RFC 3339 time. Default: now."`
}

type stageSummaryOutput struct{ Body lifecycle.Summary }

type accountStagesInput struct {
	AccountID string `path:"account_id" doc:"The account's id."`
	At        string `query:"at" doc:"The stays as of this moment (a date or an RFC 3339 time); default now."`
}

// accountStages is an account's stage history.
type accountStages struct {
	AccountID   string           `json:"account_id"`
	At          time.Time        `json:"at"`
	Stage       *string          `json:"stage" nullable:"true" doc:"The stage at the instant; null when none."`
	DaysInStage *int             `json:"days_in_stage" nullable:"true" doc:"Whole days in it at the instant; null when no stage."`
	Stays       []lifecycle.Stay `json:"stays" doc:"Oldest first; a stay still running at the instant has no left_at."`
}

type accountStagesOutput struct{ Body accountStages }

// journeyStepJSON is one step of the journey map with its stage's live
// numbers.
type journeyStepJSON struct {
	lifecycle.JourneyStep
	Name     string  `json:"name" doc:"The stage's name."`
	Accounts int     `json:"accounts" doc:"Accounts in the stage now."`
	ARR      float64 `json:"arr" doc:"Their ARR now, in the reporting currency."`
}

type journeyMap struct {
	Currency string            `json:"currency"`
	Steps    []journeyStepJSON `json:"steps" doc:"By position."`
}

type journeyOutput struct{ Body journeyMap }

type journeyPutInput struct {
	StageID string `path:"stage_id" doc:"The stage's id."`
	Body    lifecycle.JourneyFields
}

type journeyStepOutput struct{ Body lifecycle.JourneyStep }

// stageError turns a lifecycle package error into the API's answer.
func (s *Server) stageError(ctx context.Context, err error) error {
	var re *rule.Error
	if errors.As(err, &re) {
		return huma.Error422UnprocessableEntity("the rule does not compile: "+re.Error(),
			&huma.ErrorDetail{Message: re.Error(), Location: "body.rule", Value: re.Snippet})
	}
	if fe, ok := lifecycle.IsFieldError(err); ok {
		return huma.Error422UnprocessableEntity(fe.Error(), &huma.ErrorDetail{Message: fe.Message, Location: "body." + fe.Field})
	}
	switch {
	case errors.Is(err, lifecycle.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, lifecycle.ErrExists):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, lifecycle.ErrInvalid):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return s.internal(ctx, err)
}

func registerLifecycle(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-stages", Method: http.MethodGet, Path: "/stages", Tags: []string{"Lifecycle"},
		Summary: "List lifecycle stages", Description: "Every stage in evaluation order: the first whose rule matches an account is its stage.",
	}, func(ctx context.Context, _ *struct{}) (*stageListOutput, error) {
		list, err := lifecycle.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &stageListOutput{Body: stageList{Stages: orEmpty(list)}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "create-stage", Method: http.MethodPost, Path: "/stages", Tags: []string{"Lifecycle"},
		Summary: "Create a lifecycle stage",
		Description: "Stores the stage after compiling its rule (a rule that does not compile is refused 422 with the " +
			"line, column and reason) and classifies every account again now, so the change is live at once.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *stageCreateInput) (*savedStageOutput, error) {
		b := in.Body
		d := lifecycle.StageDefinition{ID: b.StageID, Name: b.Name, Description: b.Description, Rule: b.Rule, Priority: b.Priority}
		out, err := s.saveStage(ctx, d, true)
		if err != nil {
			return nil, err
		}
		return &savedStageOutput{Location: apiPrefix + "/stages/" + d.ID, Body: out}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-stage-summary", Method: http.MethodGet, Path: "/stages/summary", Tags: []string{"Lifecycle"},
		Summary: "Accounts and ARR per stage",
		Description: "For each stage as of the instant (default now; a past one reads the history): its accounts, their " +
			"ARR, the median days they have been in it, and the stays in it that ended with their median length.",
	}, func(ctx context.Context, in *atInput) (*stageSummaryOutput, error) {
		at, err := instantParam("at", in.At)
		if err != nil {
			return nil, err
		}
		sum, err := lifecycle.Summarize(ctx, s.db, at)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &stageSummaryOutput{Body: sum}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-stage", Method: http.MethodGet, Path: "/stages/{stage_id}", Tags: []string{"Lifecycle"},
		Summary: "Get a lifecycle stage",
	}, func(ctx context.Context, in *stageKeyInput) (*stageOutput, error) {
		d, err := lifecycle.Get(ctx, s.db, in.StageID)
		if err != nil {
			return nil, s.stageError(ctx, err)
		}
		return &stageOutput{Body: d}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "put-stage", Method: http.MethodPut, Path: "/stages/{stage_id}", Tags: []string{"Lifecycle"},
		Summary:     "Create or replace a lifecycle stage",
		Description: "Stores the stage under this id (created or replaced) and classifies every account again now.",
		Errors:      []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *stagePutInput) (*savedStageOutput, error) {
		b := in.Body
		d := lifecycle.StageDefinition{ID: in.StageID, Name: b.Name, Description: b.Description, Rule: b.Rule, Priority: b.Priority}
		_, err := lifecycle.Get(ctx, s.db, in.StageID)
		if err != nil && !errors.Is(err, lifecycle.ErrNotFound) {
			return nil, s.internal(ctx, err)
		}
		out, err := s.saveStage(ctx, d, err != nil)
		if err != nil {
			return nil, err
		}
		return &savedStageOutput{Body: out}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "delete-stage", Method: http.MethodDelete, Path: "/stages/{stage_id}", Tags: []string{"Lifecycle"},
		Summary: "Delete a lifecycle stage",
		Description: "Removes the stage and its journey step, and classifies every account again now: its accounts move " +
			"to the stage the other rules give. The history keeps the stays in it.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *stageKeyInput) (*stageDeletedOutput, error) {
		now := time.Now().UTC().Truncate(time.Second)
		snaps, err := snapshot.All(ctx, s.db, now)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		var out stageDeleted
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, err := lifecycle.Get(ctx, tx, in.StageID)
			if err != nil {
				return err
			}
			if err := lifecycle.Delete(ctx, tx, in.StageID); err != nil {
				return err
			}
			if out.Moved, err = lifecycle.Refresh(ctx, tx, now, snaps); err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionDelete, "stage", in.StageID, before, nil)
		})
		if err != nil {
			return nil, s.stageError(ctx, err)
		}
		return &stageDeletedOutput{Body: out}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-account-stages", Method: http.MethodGet, Path: "/accounts/{account_id}/stages", Tags: []string{"Lifecycle"},
		Summary: "An account's stage history",
		Description: "The stage the account is in (at the instant, default now), how long it has been in it, and every " +
			"stay in a stage with when it entered and left.",
	}, func(ctx context.Context, in *accountStagesInput) (*accountStagesOutput, error) {
		at, err := instantParam("at", in.At)
		if err != nil {
			return nil, err
		}
		if _, err := account.Get(ctx, s.db, in.AccountID); errors.Is(err, account.ErrNotFound) {
			return nil, huma.Error404NotFound("no account " + in.AccountID)
		} else if err != nil {
			return nil, s.internal(ctx, err)
		}
		stays, err := lifecycle.Stays(ctx, s.db, in.AccountID, at)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := accountStages{AccountID: in.AccountID, At: at, Stays: stays}
		if n := len(stays); n > 0 && stays[n-1].LeftAt == nil {
			out.Stage, out.DaysInStage = &stays[n-1].StageID, &stays[n-1].Days
		}
		return &accountStagesOutput{Body: out}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-journey", Method: http.MethodGet, Path: "/journey", Tags: []string{"Lifecycle"},
		Summary: "The customer journey map",
		Description: "For each stage: the customer's goal, actions, feelings and questions, the support to give (and by " +
			"touch tier), the playbooks that apply, and the accounts and ARR in the stage now.",
	}, func(ctx context.Context, _ *struct{}) (*journeyOutput, error) {
		steps, err := lifecycle.Journey(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		sum, err := lifecycle.Summarize(ctx, s.db, time.Now())
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		live := map[string]lifecycle.StageCount{}
		for _, c := range sum.Stages {
			live[c.StageID] = c
		}
		out := journeyMap{Currency: sum.Currency, Steps: []journeyStepJSON{}}
		for _, st := range steps {
			c := live[st.StageID]
			out.Steps = append(out.Steps, journeyStepJSON{JourneyStep: st, Name: c.Name, Accounts: c.Accounts, ARR: roundToMinor(c.ARR, sum.Currency)})
		}
		return &journeyOutput{Body: out}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "put-journey-step", Method: http.MethodPut, Path: "/journey/{stage_id}", Tags: []string{"Lifecycle"},
		Summary:     "Replace a stage's journey step",
		Description: "Stores the step's texts (one per field, in any language), its position on the map and the playbooks that apply, which must exist.",
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *journeyPutInput) (*journeyStepOutput, error) {
		now := time.Now().UTC().Truncate(time.Second)
		var out lifecycle.JourneyStep
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, err := lifecycle.Step(ctx, tx, in.StageID)
			if err != nil {
				return err
			}
			if out, err = lifecycle.PutStep(ctx, tx, in.StageID, in.Body, now); err != nil {
				return err
			}
			action, old := audit.ActionUpdate, any(before.JourneyFields)
			if before.UpdatedAt == nil {
				action, old = audit.ActionCreate, nil
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, action, "journey_step", in.StageID, old, out.JourneyFields)
		})
		if err != nil {
			return nil, s.stageError(ctx, err)
		}
		return &journeyStepOutput{Body: out}, nil
	})
}

// saveStage creates (create) or updates a stage and classifies every
// account again, with an audit entry, in one transaction. The snapshots are
// computed before it, so that it stays short.
func (s *Server) saveStage(ctx context.Context, d lifecycle.StageDefinition, create bool) (savedStage, error) {
	if err := lifecycle.Validate(d); err != nil {
		return savedStage{}, s.stageError(ctx, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	snaps, err := snapshot.All(ctx, s.db, now)
	if err != nil {
		return savedStage{}, s.internal(ctx, err)
	}
	var out savedStage
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var before any
		var err error
		if create {
			out.StageDefinition, err = lifecycle.Create(ctx, tx, d, now)
		} else {
			var old lifecycle.StageDefinition
			if old, err = lifecycle.Get(ctx, tx, d.ID); err != nil {
				return err
			}
			before = old
			out.StageDefinition, err = lifecycle.Update(ctx, tx, d, now)
		}
		if err != nil {
			return err
		}
		if out.Moved, err = lifecycle.Refresh(ctx, tx, now, snaps); err != nil {
			return err
		}
		action := audit.ActionUpdate
		if create {
			action = audit.ActionCreate
		}
		return audit.Record(ctx, tx, principalFrom(ctx).actor, action, "stage", d.ID, before, out.StageDefinition)
	})
	if err != nil {
		return savedStage{}, s.stageError(ctx, err)
	}
	return out, nil
}
