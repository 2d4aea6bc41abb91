package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

type snapshotInput struct {
	AccountID string `path:"account_id"`
	At        string `query:"at" doc:"The moment: a date (00:00 UTC) or an RFC 3339 time. Default: now."`
}

type snapshotOutput struct{ Body snapshot.Snapshot }

type fieldsOutput struct{ Body []snapshot.Field }

type ruleCheckInput struct {
	Body struct {
		Rule     string `json:"rule" maxLength:"4096" doc:"The rule, in the expr language, over the snapshot's fields."`
		Kind     string `json:"kind,omitempty" enum:"condition,number" default:"condition" doc:"condition (true or false: segments, triggers) or number (health measures)."`
		Evaluate bool   `json:"evaluate,omitempty" doc:"Also evaluate a condition on every account now and count the matches."`
	}
}

type ruleCheckResult struct {
	Valid    bool          `json:"valid"`
	Errors   []*rule.Error `json:"errors" doc:"Why the rule does not compile, with the position."`
	Accounts int           `json:"accounts,omitempty" doc:"Accounts evaluated (with evaluate)."`
	Matches  int           `json:"matches,omitempty" doc:"Accounts for which the condition holds (with evaluate)."`
	Sample   []string      `json:"sample,omitempty" doc:"Up to 10 matching account ids, in id order."`
}

type ruleCheckOutput struct{ Body ruleCheckResult }

func registerSnapshots(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "get-account-snapshot", Method: http.MethodGet, Path: "/accounts/{account_id}/snapshot", Tags: []string{"Rules"},
		Summary:     "An account's snapshot",
		Description: "What Kizuna knows about the account at a moment, as the typed fields rules are written against (GET /api/v1/snapshot/fields documents them).",
	}, func(ctx context.Context, in *snapshotInput) (*snapshotOutput, error) {
		at, err := instantParam("at", in.At)
		if err != nil {
			return nil, err
		}
		snap, err := snapshot.Get(ctx, s.db, in.AccountID, at)
		if errors.Is(err, snapshot.ErrNotFound) {
			return nil, huma.Error404NotFound("no account " + in.AccountID)
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &snapshotOutput{Body: snap}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-snapshot-fields", Method: http.MethodGet, Path: "/snapshot/fields", Tags: []string{"Rules"},
		Summary: "The snapshot's fields", Description: "Every field a rule may use, with its type and meaning.",
	}, func(ctx context.Context, _ *struct{}) (*fieldsOutput, error) {
		return &fieldsOutput{Body: snapshot.Fields}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "check-rule", Method: http.MethodPost, Path: "/rules/check", Tags: []string{"Rules"},
		Summary: "Check a rule",
		Description: "Compiles and type-checks a rule against the snapshot. A rule that does not compile is answered 200 " +
			"with valid false and each error's line, column and reason; with evaluate, a condition is also run on " +
			"every account's snapshot now.",
	}, func(ctx context.Context, in *ruleCheckInput) (*ruleCheckOutput, error) {
		kind := rule.Bool
		if in.Body.Kind == "number" {
			kind = rule.Number
		}
		r, err := rule.Compile(in.Body.Rule, kind)
		var re *rule.Error
		if errors.As(err, &re) {
			return &ruleCheckOutput{Body: ruleCheckResult{Errors: []*rule.Error{re}}}, nil
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := ruleCheckResult{Valid: true, Errors: []*rule.Error{}}
		if in.Body.Evaluate && kind == rule.Bool {
			all, err := snapshot.All(ctx, s.db, time.Now())
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			out.Accounts = len(all)
			for i := range all {
				ok, err := r.Match(&all[i])
				if err != nil {
					return nil, huma.Error422UnprocessableEntity("the rule fails on account " + all[i].AccountID + ": " + err.Error())
				}
				if ok {
					out.Matches++
					if len(out.Sample) < 10 {
						out.Sample = append(out.Sample, all[i].AccountID)
					}
				}
			}
		}
		return &ruleCheckOutput{Body: out}, nil
	})
}
