package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/prospect"
	"github.com/kizuna-cs/kizuna/internal/rule"
)

// ProspectChange is the body of PATCH /prospects/{account_id}: fields sent change, fields left out stay.
type ProspectChange struct {
	Barriers       *string                    `json:"barriers,omitempty" maxLength:"10000" doc:"What must be resolved for them to adopt (導入にあたって解決すべきこと)."`
	DesiredOutcome *string                    `json:"desired_outcome,omitempty" maxLength:"10000" doc:"What they want to achieve with the product."`
	TrialCriteria  *[]prospect.TrialCriterion `json:"trial_criteria,omitempty" maxItems:"50" doc:"Replaces the trial success criteria: what \"can use it well\" means for them."`
	Class          *string                    `json:"class,omitempty" enum:"decided,undecided,browsing,seed" doc:"Set the class by hand (with reason), or seed to go back to the seeded class."`
	Reason         string                     `json:"reason,omitempty" maxLength:"2000" doc:"Why the class is set by hand: required with a class."`
	Status         *string                    `json:"status,omitempty" enum:"trial,lost" doc:"lost closes the trial without a purchase (counted in the conversion rates); trial reopens it."`
}

// ConversionFields are the body of POST /prospects/{account_id}/convert: what they bought.
type ConversionFields struct {
	SubscriptionID string   `json:"subscription_id,omitempty" maxLength:"255" doc:"Default a new id."`
	StartDate      string   `json:"start_date,omitempty" doc:"When the subscription starts: YYYY-MM-DD or RFC 3339; default now."`
	MRR            float64  `json:"mrr" exclusiveMinimum:"0" doc:"Monthly recurring revenue in major units of currency."`
	Currency       string   `json:"currency,omitempty" maxLength:"3" doc:"ISO 4217; default the reporting currency."`
	Plan           string   `json:"plan,omitempty" maxLength:"255"`
	Product        string   `json:"product,omitempty" maxLength:"255"`
	Quantity       *float64 `json:"quantity,omitempty" minimum:"0" doc:"Seats or units."`
	OwnerEmail     string   `json:"owner_email,omitempty" maxLength:"320" doc:"The CSM who takes the customer over; default the account's owner."`
}

type prospectQueueInput struct {
	Class string `query:"class" enum:"decided,undecided,browsing" doc:"Only prospects of this class."`
}

type prospectQueueOutput struct {
	Body struct {
		Prospects []prospect.Prospect `json:"prospects" doc:"Open trials: undecided first, then decided, then browsing; within a class the trial ending soonest first."`
	}
}

type prospectKeyInput struct {
	AccountID string `path:"account_id" doc:"The trial account."`
}

type prospectPatchInput struct {
	AccountID string `path:"account_id" doc:"The trial account."`
	Body      ProspectChange
}

type prospectConvertInput struct {
	AccountID string `path:"account_id" doc:"The trial account."`
	Body      ConversionFields
}

type prospectOutput struct{ Body prospect.Prospect }

type prospectConvertOutput struct{ Body prospect.ConversionResult }

type prospectRatesOutput struct {
	Body struct {
		Classes []prospect.ClassConversion `json:"classes" doc:"undecided, decided, browsing, then all."`
	}
}

// prospectError answers a prospect operation's error.
func (s *Server) prospectError(ctx context.Context, err error) error {
	var (
		se huma.StatusError
		ve *prospect.ValidationError
		re *prospect.RuleError
		rr *rule.Error
	)
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, prospect.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, prospect.ErrClosed):
		return huma.Error409Conflict(err.Error())
	case errors.As(err, &re) && errors.As(err, &rr):
		return huma.Error422UnprocessableEntity("the rule of "+strings.TrimSuffix(re.Field, ".rule")+" does not compile: "+rr.Error(),
			&huma.ErrorDetail{Message: rr.Error(), Location: "body." + re.Field, Value: rr.Snippet})
	case errors.As(err, &ve):
		return huma.Error422UnprocessableEntity("invalid "+ve.Field+": "+ve.Message,
			&huma.ErrorDetail{Message: ve.Message, Location: "body." + ve.Field})
	}
	return s.internal(ctx, err)
}

func registerProspects(s *Server, api huma.API) {
	const tag = "Prospects"
	register(api, needRead, huma.Operation{
		OperationID: "prospect-queue", Method: http.MethodGet, Path: "/prospects", Tags: []string{tag},
		Summary: "The prospect triage queue",
		Description: "Trial accounts (attribute lifecycle = trial) still in trial, each classified decided / undecided / " +
			"browsing — seeded from the stated intent (trial_intent) and the trial's usage, unless set by hand — " +
			"undecided first, then decided, then browsing; within a class the trial ending soonest first, then by id.",
	}, func(ctx context.Context, in *prospectQueueInput) (*prospectQueueOutput, error) {
		list, err := prospect.Queue(ctx, s.db, time.Now(), in.Class)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &prospectQueueOutput{}
		out.Body.Prospects = orEmpty(list)
		return out, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "prospect-conversion", Method: http.MethodGet, Path: "/prospects/conversion", Tags: []string{tag},
		Summary: "Conversion rate by class",
		Description: "For each class: the prospects (open ones by their current class, converted and lost ones by their " +
			"class when they closed), how many converted, were lost or are open, conversion_rate = converted / prospects " +
			"and close_rate = converted / (converted + lost).",
	}, func(ctx context.Context, _ *struct{}) (*prospectRatesOutput, error) {
		rates, err := prospect.Rates(ctx, s.db, time.Now())
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &prospectRatesOutput{}
		out.Body.Classes = rates
		return out, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "get-prospect", Method: http.MethodGet, Path: "/prospects/{account_id}", Tags: []string{tag},
		Summary: "One prospect", Description: "A trial account, or a prospect that has converted or been lost.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *prospectKeyInput) (*prospectOutput, error) {
		p, err := prospect.Get(ctx, s.db, in.AccountID, time.Now())
		if err != nil {
			return nil, s.prospectError(ctx, err)
		}
		return &prospectOutput{Body: p}, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "update-prospect", Method: http.MethodPatch, Path: "/prospects/{account_id}", Tags: []string{tag},
		Summary: "Record what is known of a prospect",
		Description: "The barriers to adoption, the desired outcome, the trial success criteria (each with an optional " +
			"rule on the snapshot, else marked met by hand), the class set by hand (who and why are kept), or the trial " +
			"closed as lost. Fields sent change, fields left out stay.",
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *prospectPatchInput) (*prospectOutput, error) {
		p := principalFrom(ctx)
		b := in.Body
		ch := prospect.Change{Barriers: b.Barriers, DesiredOutcome: b.DesiredOutcome, Criteria: b.TrialCriteria, Reason: b.Reason}
		if b.Class != nil {
			c := *b.Class
			if c == "seed" {
				c = ""
			}
			ch.Class = &c
		}
		if b.Status != nil {
			lost := *b.Status == prospect.StatusLost
			ch.Lost = &lost
		}
		by := p.email()
		if by == "" {
			by = p.actor
		}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, after, err := prospect.Update(ctx, tx, in.AccountID, ch, by, time.Now())
			if err != nil {
				return err
			}
			if before == nil {
				return audit.Record(ctx, tx, p.actor, audit.ActionCreate, "prospect", in.AccountID, nil, after)
			}
			b, a := *before, after
			b.UpdatedAt, a.UpdatedAt = time.Time{}, time.Time{}
			if sameJSON(b, a) {
				return nil
			}
			return audit.Record(ctx, tx, p.actor, audit.ActionUpdate, "prospect", in.AccountID, *before, after)
		})
		if err != nil {
			return nil, s.prospectError(ctx, err)
		}
		out, err := prospect.Get(ctx, s.db, in.AccountID, time.Now())
		if err != nil {
			return nil, s.prospectError(ctx, err)
		}
		return &prospectOutput{Body: out}, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "convert-prospect", Method: http.MethodPost, Path: "/prospects/{account_id}/convert", Tags: []string{tag},
		Summary: "Convert a prospect into a customer",
		Description: "Records the purchase as a subscription period, makes the account a customer (lifecycle = customer; " +
			"owner_email when given) and carries the prospect's record over: the handoff's blank parts get the desired " +
			"outcome (why they bought), the barriers (challenges) and the trial criteria (success criteria); the trial " +
			"criteria become draft goals of the success plan; a timeline note records the class, barriers, outcome and " +
			"criteria met. The prospect keeps its class at conversion for the conversion rates. All in one transaction, " +
			"each change in the audit log.",
		Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *prospectConvertInput) (*prospectConvertOutput, error) {
		p := principalFrom(ctx)
		f := in.Body
		var out prospect.ConversionResult
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			c := newChecker(tx, p, nil)
			conv := prospect.Conversion{SubscriptionID: strings.TrimSpace(f.SubscriptionID), Plan: f.Plan, Product: f.Product,
				Quantity: f.Quantity}
			if start, ok := c.time("start_date", &f.StartDate, false); ok {
				conv.Start = start
			}
			c.email("owner_email", &f.OwnerEmail)
			conv.OwnerEmail = f.OwnerEmail
			conv.Currency = strings.ToUpper(strings.TrimSpace(f.Currency))
			if conv.Currency == "" {
				cur, err := billing.ReportingCurrency(ctx, tx)
				if err != nil {
					return err
				}
				conv.Currency = cur
			}
			if _, err := money.Currency(conv.Currency); err != nil {
				c.fail("currency", f.Currency, "%v", err)
			} else if minor, err := mrrMinor(f.MRR, conv.Currency); err != nil {
				c.fail("mrr", f.MRR, "%v", err)
			} else {
				conv.MRRMinor = minor
			}
			if len(c.problems) > 0 {
				return problems(c.problems)
			}
			by := p.email()
			var err error
			out, err = prospect.Convert(ctx, tx, in.AccountID, conv, p.actor, by, time.Now())
			return err
		})
		if err != nil {
			return nil, s.prospectError(ctx, err)
		}
		return &prospectConvertOutput{Body: out}, nil
	})
}
