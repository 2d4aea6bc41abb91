package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/survival"
)

// ChurnTrainBody is what POST /churn/train takes.
type ChurnTrainBody struct {
	AsOf        string   `json:"as_of,omitempty" doc:"Date the features are taken at (YYYY-MM-DD); default today minus the horizon."`
	HorizonDays int      `json:"horizon_days,omitempty" minimum:"1" maximum:"3650" default:"90" doc:"Days after the as-of date within which stopping to pay counts as churn."`
	Windows     int      `json:"windows,omitempty" minimum:"1" maximum:"24" default:"1" doc:"As-of dates to stack, each a horizon before the next."`
	Folds       int      `json:"folds,omitempty" minimum:"2" maximum:"20" default:"5" doc:"Cross-validation folds (stratified, fixed seed)."`
	Lambda      float64  `json:"lambda,omitempty" exclusiveMinimum:"0" default:"1" doc:"L2 penalty on the standardised coefficients."`
	Exclude     []string `json:"exclude,omitempty" doc:"Features to leave out, by name or prefix* (attr.*)."`
	Top         int      `json:"top,omitempty" minimum:"0" maximum:"1000" default:"10" doc:"Riskiest paying accounts now to return."`
}

type churnTrainInput struct{ Body ChurnTrainBody }

type churnTrainResult struct {
	*churn.Report
	TopRisk []churn.Risk `json:"top_risk"`
}

type churnTrainOutput struct{ Body churnTrainResult }

type churnSurvivalInput struct {
	By    string   `query:"by" doc:"plan (first paid period's), cohort (start year) or attr:NAME; default one curve."`
	Unit  string   `query:"unit" enum:"day,month" default:"day" doc:"Lifetime unit: day or whole calendar months."`
	At    string   `query:"at" doc:"End of observation: a date or RFC 3339 time; default now."`
	Where []string `query:"where" doc:"Keep accounts with attr:NAME=VALUE or attr:NAME!=VALUE (repeatable)."`
}

type churnSurvivalOutput struct {
	Body struct {
		By     string           `json:"by"`
		Unit   string           `json:"unit"`
		At     time.Time        `json:"at"`
		Curves []survival.Curve `json:"curves"`
	}
}

type churnScoresOutput struct{ Body []churn.StoredScore }

func registerChurn(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-churn-scores", Method: http.MethodGet, Path: "/churn/scores", Tags: []string{"Churn"},
		Summary:     "Stored churn scores",
		Description: "Each paying account's churn probability and top reasons from the last `kizuna churn train --store`, riskiest first.",
	}, func(ctx context.Context, _ *struct{}) (*churnScoresOutput, error) {
		scores, err := churn.Scores(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &churnScoresOutput{Body: scores}, nil
	})
	register(api, needAudit, huma.Operation{
		OperationID: "train-churn-model", Method: http.MethodPost, Path: "/churn/train", Tags: []string{"Churn"},
		Summary: "Train the churn-risk model",
		Description: "Fits an L2 logistic regression on account snapshots at past dates (label: paying at the date, nothing " +
			"horizon_days later) and returns its cross-validated AUC, calibration, drivers with 95% intervals and odds " +
			"ratios, and the riskiest paying accounts now with their reasons. Nothing is stored.",
	}, func(ctx context.Context, in *churnTrainInput) (*churnTrainOutput, error) {
		b := in.Body
		opt := churn.Options{HorizonDays: b.HorizonDays, Windows: b.Windows, Folds: b.Folds, Lambda: b.Lambda, Exclude: b.Exclude}
		if b.AsOf != "" {
			at, err := time.Parse(time.DateOnly, b.AsOf)
			if err != nil {
				return nil, huma.Error422UnprocessableEntity("as_of: want YYYY-MM-DD",
					&huma.ErrorDetail{Message: "want YYYY-MM-DD", Location: "body.as_of", Value: b.AsOf})
			}
			opt.AsOf = at
		}
		rep, err := churn.Train(ctx, s.db, opt)
		var oe churn.OptionError
		if errors.As(err, &oe) {
			// Too little history or an as-of date too recent: the caller's to fix.
			return nil, huma.Error422UnprocessableEntity(err.Error())
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &churnTrainOutput{Body: churnTrainResult{Report: rep, TopRisk: []churn.Risk{}}}
		if b.Top > 0 {
			risks, err := churn.Score(ctx, s.db, rep.Model, time.Now(), 3)
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			out.Body.TopRisk = risks[:min(b.Top, len(risks))]
		}
		return out, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "churn-survival", Method: http.MethodGet, Path: "/churn/survival", Tags: []string{"Churn"},
		Summary: "Customer survival curves",
		Description: "Kaplan–Meier curves of customer lifetime (first paid period's start to the last one's end; paying " +
			"accounts censored at at), with Greenwood standard errors, 95% log-log bands and the median lifetime with its interval.",
	}, func(ctx context.Context, in *churnSurvivalInput) (*churnSurvivalOutput, error) {
		at, err := instantParam("at", in.At)
		if err != nil {
			return nil, err
		}
		curves, err := churn.Survival(ctx, s.db, churn.LifetimeOptions{At: at, By: in.By, Unit: in.Unit, Where: in.Where})
		var oe churn.OptionError
		if errors.As(err, &oe) {
			return nil, huma.Error400BadRequest(err.Error())
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &churnSurvivalOutput{}
		out.Body.By, out.Body.Unit, out.Body.At, out.Body.Curves = in.By, in.Unit, at, curves
		return out, nil
	})
}
