package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/segment"
)

type coverageAtInput struct {
	At string `query:"at" doc:"The moment: a date (00:00 UTC) or an RFC 3339 time. Default: now."`
}

type tiersOutput struct{ Body coverage.TierReport }

type rankingInput struct {
	At     string `query:"at" doc:"The moment: a date (00:00 UTC) or an RFC 3339 time. Default: now."`
	Owner  string `query:"owner" doc:"Only this owner's accounts; none for the unassigned ones."`
	Tier   string `query:"tier" enum:"high,low,tech" doc:"Only this touch tier."`
	Offset int    `query:"offset" minimum:"0" doc:"Rows of the filtered ranking to skip."`
	Limit  int    `query:"limit" minimum:"1" maximum:"10000" default:"100" doc:"Rows to return, 1 to 10000."`
}

type rankingOutput struct{ Body coverage.Ranking }

type workloadList struct {
	Workloads []coverage.Workload `json:"workloads" doc:"Every csm and manager, and every other owner email on accounts, by email."`
}

type workloadOutput struct{ Body workloadList }

// AssignRequest is the body of POST /coverage/assign.
type AssignRequest struct {
	Strategy  string   `json:"strategy" enum:"fewest_accounts,least_arr,round_robin"`
	CSMs      []string `json:"csms,omitempty" maxItems:"1000" doc:"The candidate owners (users with role csm or manager); default every user with role csm."`
	SegmentID string   `json:"segment_id,omitempty" doc:"Only this segment's members; default the unassigned customers."`
	Reassign  bool     `json:"reassign,omitempty" doc:"With segment_id: share out all the segment's members again, not only the unassigned ones."`
	DryRun    bool     `json:"dry_run,omitempty" doc:"Return the plan without writing it."`
}

type assignInput struct{ Body AssignRequest }

type assignOutput struct{ Body coverage.Plan }

type ownerInput struct {
	AccountID string `path:"account_id" doc:"The account's id."`
	Body      struct {
		OwnerEmail string `json:"owner_email" minLength:"3" maxLength:"320" doc:"A user with role csm or manager."`
	}
}

type ownerOutput struct{ Body coverage.OwnerChange }

func (s *Server) coverageError(ctx context.Context, err error) error {
	var bad error
	switch {
	case errors.Is(err, coverage.ErrBadSetting):
		// A stored setting is broken: say which, so an admin can fix it.
		return huma.Error500InternalServerError(err.Error())
	case errors.Is(err, coverage.ErrNotAssignable), errors.Is(err, coverage.ErrBadAssign):
		bad = err
	case errors.Is(err, segment.ErrNotFound), errors.Is(err, account.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	default:
		return s.internal(ctx, err)
	}
	return huma.Error422UnprocessableEntity(bad.Error())
}

// book loads the book of business at the instant of the at parameter.
func (s *Server) book(ctx context.Context, atParam string) (*coverage.Book, error) {
	at, err := instantParam("at", atParam)
	if err != nil {
		return nil, err
	}
	b, err := coverage.LoadBook(ctx, s.db, at)
	if err != nil {
		return nil, s.coverageError(ctx, err)
	}
	return b, nil
}

func registerCoverage(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "get-coverage-tiers", Method: http.MethodGet, Path: "/coverage/tiers", Tags: []string{"Coverage"},
		Summary: "Touch tiers",
		Description: "Customers (ARR > 0) and their ARR per touch tier (high, low, tech), with the thresholds in effect " +
			"(settings touch_tier.basis, touch_tier.high, touch_tier.low) and, with basis ltv, the churn rate and margin LTV uses.",
	}, func(ctx context.Context, in *coverageAtInput) (*tiersOutput, error) {
		b, err := s.book(ctx, in.At)
		if err != nil {
			return nil, err
		}
		return &tiersOutput{Body: coverage.TierCounts(b)}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-coverage-ranking", Method: http.MethodGet, Path: "/coverage/ranking", Tags: []string{"Coverage"},
		Summary: "Customers ranked by revenue contribution",
		Description: "Customers by ARR descending (ties by id) with rank, share of the total ARR and cumulative share " +
			"(Pareto) and touch tier. Ranks and shares are over every customer; owner and tier only select rows.",
	}, func(ctx context.Context, in *rankingInput) (*rankingOutput, error) {
		b, err := s.book(ctx, in.At)
		if err != nil {
			return nil, err
		}
		return &rankingOutput{Body: coverage.Rank(b, coverage.RankFilter{Owner: in.Owner, Tier: in.Tier, Offset: in.Offset, Limit: in.Limit})}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-coverage-workload", Method: http.MethodGet, Path: "/coverage/workload", Tags: []string{"Coverage"},
		Summary:     "Workload per CSM",
		Description: "Accounts and ARR owned by each CSM, with open tasks and red accounts.",
	}, func(ctx context.Context, in *coverageAtInput) (*workloadOutput, error) {
		at, err := instantParam("at", in.At)
		if err != nil {
			return nil, err
		}
		ws, err := coverage.Workloads(ctx, s.db, at)
		if err != nil {
			return nil, s.coverageError(ctx, err)
		}
		return &workloadOutput{Body: workloadList{Workloads: orEmpty(ws)}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "assign-accounts", Method: http.MethodPost, Path: "/coverage/assign", Tags: []string{"Coverage"},
		Summary: "Assign accounts to CSMs",
		Description: "Shares out the unassigned customers (or a segment's members) among CSMs by fewest_accounts, " +
			"least_arr or round_robin, largest ARR first; deterministic (ties by email, accounts by ARR then id). " +
			"dry_run returns the plan without writing; otherwise every owner change is written with an audit entry.",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *assignInput) (*assignOutput, error) {
		b := in.Body
		o := coverage.AssignOptions{Strategy: b.Strategy, CSMs: b.CSMs, SegmentID: b.SegmentID, Reassign: b.Reassign,
			DryRun: b.DryRun, At: time.Now(), Actor: principalFrom(ctx).actor}
		var p coverage.Plan
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			p, err = coverage.Assign(ctx, tx, o)
			return err
		})
		if err != nil {
			return nil, s.coverageError(ctx, err)
		}
		return &assignOutput{Body: p}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "set-account-owner", Method: http.MethodPut, Path: "/accounts/{account_id}/owner", Tags: []string{"Coverage"},
		Summary:     "Assign an account to a CSM",
		Description: "Sets the account's owner, who must be a user with role csm or manager (422 otherwise); audited.",
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *ownerInput) (*ownerOutput, error) {
		var c coverage.OwnerChange
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			c, err = coverage.SetOwner(ctx, tx, in.AccountID, in.Body.OwnerEmail, principalFrom(ctx).actor)
			return err
		})
		if err != nil {
			return nil, s.coverageError(ctx, err)
		}
		return &ownerOutput{Body: c}, nil
	})
}
