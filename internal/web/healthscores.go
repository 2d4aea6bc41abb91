package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// Health scores: models (CRUD, export/import, preview, back-test), an
// account's health with its override, and CSM sentiment. (healthz and readyz
// in health.go are the process's own health.)

type healthModelsOutput struct{ Body []health.Model }

type healthModelOutput struct{ Body health.Model }

type healthModelIDInput struct {
	ModelID string `path:"model_id"`
}

// HealthModelBody is a model in a request body.
type HealthModelBody struct {
	Body health.Model
}

type healthReplaceInput struct {
	ModelID string `path:"model_id"`
	HealthModelBody
}

type healthFileIO struct{ Body health.File }

type healthPreviewResult struct {
	Accounts int            `json:"accounts"`
	Bands    map[string]int `json:"bands" doc:"Accounts the model applies to, by band."`
	// Histogram counts the scores in ten buckets: [0,10), [10,20), …, [90,100].
	Histogram [10]int `json:"histogram"`
	Applies   int     `json:"applies" doc:"Accounts whose snapshot matches applies_to (all for a default model)."`
}

type healthPreviewOutput struct{ Body healthPreviewResult }

type healthBacktestOutput struct{ Body health.Backtest }

type accountHealthInput struct {
	AccountID string `path:"account_id"`
}

type accountHealthOutput struct{ Body health.AccountHealth }

// HealthOverrideBody is an override request.
type HealthOverrideBody struct {
	Score     *float64   `json:"score,omitempty" minimum:"0" maximum:"100" doc:"The score to use; give a score or a band."`
	Band      string     `json:"band,omitempty" enum:"green,yellow,red" doc:"The band to use."`
	Reason    string     `json:"reason" minLength:"1" maxLength:"2000"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"Default: 30 days from now."`
}

type overrideInput struct {
	AccountID string `path:"account_id"`
	Body      HealthOverrideBody
}

type overrideOutput struct{ Body health.Override }

// SentimentBody is a CSM sentiment request.
type SentimentBody struct {
	Sentiment string `json:"sentiment" enum:"green,yellow,red"`
	Note      string `json:"note,omitempty" maxLength:"2000"`
}

type sentimentInput struct {
	AccountID string `path:"account_id"`
	Body      SentimentBody
}

type sentimentOutput struct{ Body account.Sentiment }

type sentimentsOutput struct{ Body []account.Sentiment }

// modelProblem answers an invalid model with 422 naming the model, measure
// and part, and the rule's position.
func modelProblem(err error) error {
	e, ok := errors.AsType[*health.Error](err)
	if !ok {
		return nil
	}
	loc := "body"
	if e.Measure != "" {
		loc += ".measures[" + e.Measure + "]"
	}
	if e.Part != "" {
		loc += "." + e.Part
	}
	return huma.Error422UnprocessableEntity(e.Error(), &huma.ErrorDetail{Message: e.Error(), Location: loc})
}

func (s *Server) healthError(ctx context.Context, err error) error {
	if p := modelProblem(err); p != nil {
		return p
	}
	var se huma.StatusError
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, health.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, health.ErrExists):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, health.ErrBadOverride):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return s.internal(ctx, err)
}

// accountExists answers 404 for an unknown account.
func accountExists(ctx context.Context, tx *sql.Tx, id string) error {
	_, err := account.Get(ctx, tx, id)
	if errors.Is(err, account.ErrNotFound) {
		return huma.Error404NotFound("no account " + id)
	}
	return err
}

func registerHealth(s *Server, api huma.API) {
	tags := []string{"Health scores"}
	register(api, needRead, huma.Operation{
		OperationID: "list-health-models", Method: http.MethodGet, Path: "/health/models", Tags: tags,
		Summary: "List health models", Description: "In selection order: ascending priority, the default model last.",
	}, func(ctx context.Context, _ *struct{}) (*healthModelsOutput, error) {
		ms, err := health.Models(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		if ms == nil {
			ms = []health.Model{}
		}
		return &healthModelsOutput{Body: ms}, nil
	})
	save := func(ctx context.Context, m health.Model, create bool) (*healthModelOutput, error) {
		var out health.Model
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var before any
			if !create {
				b, err := health.GetModel(ctx, tx, m.ID)
				if err != nil {
					return err
				}
				before = b
			}
			var err error
			if out, err = health.SaveModel(ctx, tx, m, create); err != nil {
				return err
			}
			action := audit.ActionUpdate
			if create {
				action = audit.ActionCreate
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, action, "health_model", m.ID, before, out)
		})
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return &healthModelOutput{Body: out}, nil
	}
	register(api, needWrite, huma.Operation{
		OperationID: "create-health-model", Method: http.MethodPost, Path: "/health/models", Tags: tags,
		Summary: "Create a health model", DefaultStatus: http.StatusCreated,
		Description: "Validates every rule and mapping; errors name the measure and the rule's line and column. " +
			"Exactly one default model (empty applies_to) is required, so the first model must be the default.",
		Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *HealthModelBody) (*healthModelOutput, error) {
		return save(ctx, in.Body, true)
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-health-model", Method: http.MethodGet, Path: "/health/models/{model_id}", Tags: tags,
		Summary: "Get a health model", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *healthModelIDInput) (*healthModelOutput, error) {
		m, err := health.GetModel(ctx, s.db, in.ModelID)
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return &healthModelOutput{Body: m}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "replace-health-model", Method: http.MethodPut, Path: "/health/models/{model_id}", Tags: tags,
		Summary: "Replace a health model", Description: "The body's id must be the path's; the version goes up by one.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *healthReplaceInput) (*healthModelOutput, error) {
		if in.Body.ID == "" {
			in.Body.ID = in.ModelID
		}
		if in.Body.ID != in.ModelID {
			return nil, huma.Error422UnprocessableEntity(fmt.Sprintf("the body's id %q is not the path's %q", in.Body.ID, in.ModelID))
		}
		return save(ctx, in.Body, false)
	})
	register(api, needWrite, huma.Operation{
		OperationID: "delete-health-model", Method: http.MethodDelete, Path: "/health/models/{model_id}", Tags: tags,
		Summary: "Delete a health model", Description: "The default model can only be deleted last.",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *healthModelIDInput) (*struct{}, error) {
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			gone, err := health.DeleteModel(ctx, tx, in.ModelID)
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionDelete, "health_model", in.ModelID, gone, nil)
		})
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return nil, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "export-health-models", Method: http.MethodGet, Path: "/health/models/export", Tags: tags,
		Summary: "Export the health models", Description: "Every model as one file, the format import takes.",
	}, func(ctx context.Context, _ *struct{}) (*healthFileIO, error) {
		f, err := health.Export(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &healthFileIO{Body: f}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "import-health-models", Method: http.MethodPost, Path: "/health/models/import", Tags: tags,
		Summary: "Import the health models",
		Description: "Replaces every model with the file's, all or nothing: when a model does not validate, nothing " +
			"is written and the error names the model and the measure.",
	}, func(ctx context.Context, in *healthFileIO) (*healthModelsOutput, error) {
		var out []health.Model
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, err := health.Models(ctx, tx)
			if err != nil {
				return err
			}
			if out, err = health.Import(ctx, tx, in.Body); err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionImport, "health_models", "", before, out)
		})
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		if out == nil {
			out = []health.Model{}
		}
		return &healthModelsOutput{Body: out}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "preview-health-model", Method: http.MethodPost, Path: "/health/models/preview", Tags: tags,
		Summary: "Preview a health model",
		Description: "Scores every account's snapshot now with a model that is not saved: the accounts its " +
			"applies_to matches, by band, and a histogram of their scores in ten buckets.",
	}, func(ctx context.Context, in *HealthModelBody) (*healthPreviewOutput, error) {
		m := in.Body
		if m.ID == "" {
			m.ID = "preview"
		}
		cond := m.AppliesTo
		m.AppliesTo = "" // score it as the only model: the default
		sc, err := health.NewScorer([]health.Model{m})
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		var applies func(*snapshot.Snapshot) (bool, error)
		if strings.TrimSpace(cond) != "" {
			cm := in.Body
			cm.ID = m.ID
			csc, err := health.NewScorer([]health.Model{cm, {ID: "rest", Measures: m.Measures}})
			if err != nil {
				return nil, s.healthError(ctx, err)
			}
			applies = func(snap *snapshot.Snapshot) (bool, error) {
				res, _, err := csc.Score(snap)
				return res.ModelID == cm.ID, err
			}
		}
		all, err := snapshot.All(ctx, s.db, time.Now())
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := healthPreviewResult{Accounts: len(all), Bands: map[string]int{health.Green: 0, health.Yellow: 0, health.Red: 0}}
		for i := range all {
			if applies != nil {
				ok, err := applies(&all[i])
				if err != nil {
					return nil, huma.Error422UnprocessableEntity(err.Error())
				}
				if !ok {
					continue
				}
			}
			res, _, err := sc.Score(&all[i])
			if err != nil {
				return nil, huma.Error422UnprocessableEntity(err.Error())
			}
			out.Applies++
			out.Bands[res.Band]++
			out.Histogram[min(int(res.Score/10), 9)]++
		}
		return &healthPreviewOutput{Body: out}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "backtest-health-model", Method: http.MethodGet, Path: "/health/models/{model_id}/backtest", Tags: tags,
		Summary: "Back-test a health model",
		Description: "At as-of dates every 30 days across the stored history (up to 90 days before the newest data), " +
			"scores the customers the model applies to and labels as churned those with no MRR 90 days later; " +
			"answers the AUC of the score against churn (Mann–Whitney, ties counted half). Computes a snapshot " +
			"of every account at each date, so it takes a while on a large database.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *healthModelIDInput) (*healthBacktestOutput, error) {
		m, err := health.GetModel(ctx, s.db, in.ModelID)
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		bt, err := health.RunBacktest(ctx, s.db, m, time.Now())
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return &healthBacktestOutput{Body: bt}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-account-health", Method: http.MethodGet, Path: "/accounts/{account_id}/health", Tags: tags,
		Summary: "An account's health",
		Description: "The current score and band (an override's when one is in force), the model, each measure's " +
			"contribution, what changed since the previous score (the one the current score replaced), the override " +
			"and the daily history with its change over 7 and 30 days. 404 for an unknown account and before " +
			"the account's first recompute.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *accountHealthInput) (*accountHealthOutput, error) {
		h, err := health.GetAccount(ctx, s.db, in.AccountID, time.Now())
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return &accountHealthOutput{Body: h}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "set-health-override", Method: http.MethodPut, Path: "/accounts/{account_id}/health/override", Tags: tags,
		Summary: "Override an account's health",
		Description: "Sets the score or the band by hand, with a reason, until it expires (default 30 days). The " +
			"next recompute applies it; the model's own score stays visible as computed_score.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *overrideInput) (*overrideOutput, error) {
		p := principalFrom(ctx)
		o := health.Override{AccountID: in.AccountID, Score: in.Body.Score, Band: in.Body.Band, Reason: in.Body.Reason, Author: p.email()}
		if o.Author == "" {
			o.Author = p.actor
		}
		if in.Body.ExpiresAt != nil {
			o.ExpiresAt = *in.Body.ExpiresAt
		}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := accountExists(ctx, tx, in.AccountID); err != nil {
				return err
			}
			before, _, err := health.ActiveOverride(ctx, tx, in.AccountID, time.Now())
			if err != nil {
				return err
			}
			if o, err = health.SetOverride(ctx, tx, o); err != nil {
				return err
			}
			var b any
			if before.AccountID != "" {
				b = before
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "health_override", in.AccountID, b, o)
		})
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return &overrideOutput{Body: o}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "clear-health-override", Method: http.MethodDelete, Path: "/accounts/{account_id}/health/override", Tags: tags,
		Summary: "End an account's health override", Description: "It stays in the history, marked cleared.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *accountHealthInput) (*overrideOutput, error) {
		p := principalFrom(ctx)
		var o health.Override
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			by := p.email()
			if by == "" {
				by = p.actor
			}
			before, ok, err := health.ActiveOverride(ctx, tx, in.AccountID, time.Now())
			if err != nil {
				return err
			}
			if !ok {
				return huma.Error404NotFound("no override in force on " + in.AccountID)
			}
			if o, err = health.ClearOverride(ctx, tx, in.AccountID, by, time.Now()); err != nil {
				return err
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionDelete, "health_override", in.AccountID, before, o)
		})
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return &overrideOutput{Body: o}, nil
	})
	register(api, needActivity, huma.Operation{
		OperationID: "set-account-sentiment", Method: http.MethodPost, Path: "/accounts/{account_id}/sentiment", Tags: tags,
		Summary: "Record the CSM's sentiment", DefaultStatus: http.StatusCreated,
		Description: "The CSM's own read of the account (green, yellow or red) with a note; the snapshot's " +
			"csm_sentiment is the latest, which health models may use as a measure.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *sentimentInput) (*sentimentOutput, error) {
		p := principalFrom(ctx)
		by := p.email()
		if by == "" {
			by = p.actor
		}
		snt := account.Sentiment{AccountID: in.AccountID, SetAt: time.Now().UTC().Truncate(time.Second),
			Sentiment: in.Body.Sentiment, Note: in.Body.Note, SetBy: by}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := accountExists(ctx, tx, in.AccountID); err != nil {
				return err
			}
			if err := account.SetSentiment(ctx, tx, snt); err != nil {
				return err
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "csm_sentiment", in.AccountID, nil, snt)
		})
		if errors.Is(err, account.ErrBadSentiment) {
			return nil, huma.Error422UnprocessableEntity(err.Error())
		}
		if err != nil {
			return nil, s.healthError(ctx, err)
		}
		return &sentimentOutput{Body: snt}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-account-sentiments", Method: http.MethodGet, Path: "/accounts/{account_id}/sentiment", Tags: tags,
		Summary: "The CSM sentiment history", Description: "Newest first.",
	}, func(ctx context.Context, in *accountHealthInput) (*sentimentsOutput, error) {
		ss, err := account.SentimentHistory(ctx, s.db, in.AccountID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		if ss == nil {
			ss = []account.Sentiment{}
		}
		return &sentimentsOutput{Body: ss}, nil
	})
}
