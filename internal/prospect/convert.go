package prospect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/successplan"
)

// Conversion is what a trial account buys.
type Conversion struct {
	SubscriptionID string // default a new id
	Start          time.Time
	MRRMinor       int64 // > 0, in Currency's minor units
	Currency       string
	Plan           string
	Product        string
	Quantity       *float64
	OwnerEmail     string // the CSM who takes over; empty keeps the account's owner
}

// ConversionResult is what a conversion wrote.
type ConversionResult struct {
	Prospect     Prospect                        `json:"prospect"`
	Period       billing.Period                  `json:"subscription"`
	Handoff      account.Handoff                 `json:"handoff"`
	Goals        []successplan.PlanGoal          `json:"goals" doc:"The draft success-plan goals made from the trial success criteria."`
	Note         account.Note                    `json:"note" doc:"The timeline entry recording the conversion and what the trial showed."`
	Completeness successplan.HandoffCompleteness `json:"handoff_completeness"`
}

// Convert turns a trial prospect into a customer, in q (a transaction),
// recording every change in the audit log as actor:
//
//   - a subscription period (the purchase) starting at c.Start;
//   - the account's lifecycle attribute becomes customer, and its owner
//     c.OwnerEmail when given;
//   - the prospect closes as converted, keeping its class at conversion
//     (which the conversion rates count);
//   - the handoff record gets what the trial learnt, in the parts still
//     blank (never overwriting what sales wrote): the desired outcome as why
//     they bought, the barriers as their challenges, the trial criteria as
//     success criteria, and by as its author when new;
//   - the trial criteria become draft goals of the success plan (created as
//     a draft when there is none), rule-tracked when they had a rule;
//   - a timeline note records the conversion with the class, the barriers,
//     the outcome and the criteria met.
func Convert(ctx context.Context, q store.Querier, accountID string, c Conversion, actor, by string, now time.Time) (ConversionResult, error) {
	var out ConversionResult
	p, err := Get(ctx, q, accountID, now)
	if err != nil {
		return out, err
	}
	if p.Status != StatusTrial {
		return out, fmt.Errorf("convert %s: %w", accountID, ErrClosed)
	}
	if c.MRRMinor <= 0 {
		return out, invalid("mrr", "must be positive: a conversion is a purchase")
	}
	if c.Start.IsZero() {
		c.Start = now
	}
	c.Start = c.Start.UTC().Truncate(time.Second)
	if c.Currency == "" {
		if c.Currency, err = billing.ReportingCurrency(ctx, q); err != nil {
			return out, fmt.Errorf("convert %s: %w", accountID, err)
		}
	}
	if c.SubscriptionID == "" {
		c.SubscriptionID = store.NewID("sub_")
	}

	// The purchase.
	period := billing.Period{SubscriptionID: c.SubscriptionID, AccountID: accountID, Start: c.Start, MRRMinor: c.MRRMinor,
		Currency: strings.ToUpper(c.Currency), Plan: c.Plan, Product: c.Product, Quantity: c.Quantity}
	if err := billing.UpsertPeriod(ctx, q, period); err != nil {
		if errors.Is(err, billing.ErrOverlap) {
			return out, invalid("subscription_id", "%s already has a period overlapping %s", c.SubscriptionID, c.Start.Format(time.DateOnly))
		}
		if strings.Contains(err.Error(), "currency") {
			return out, invalid("currency", "%v", err)
		}
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	if period, err = billing.GetPeriod(ctx, q, c.SubscriptionID, c.Start); err != nil {
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	if err := audit.Record(ctx, q, actor, audit.ActionCreate, "subscription_period",
		c.SubscriptionID+"/"+c.Start.Format(time.RFC3339), nil, period); err != nil {
		return out, err
	}
	out.Period = period

	// The account: a customer now.
	before, err := account.Get(ctx, q, accountID)
	if err != nil {
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	changed := before
	changed.Attributes = map[string]any{AttrLifecycle: LifecycleCustomer}
	if c.OwnerEmail != "" {
		changed.OwnerEmail = strings.ToLower(strings.TrimSpace(c.OwnerEmail))
	}
	if err := account.Upsert(ctx, q, changed); err != nil {
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	after, err := account.Get(ctx, q, accountID)
	if err != nil {
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	if err := audit.Record(ctx, q, actor, audit.ActionUpdate, "account", accountID, before, after); err != nil {
		return out, err
	}

	// The prospect: closed as converted, with its class then.
	rec, exists, err := getRecord(ctx, q, accountID, now)
	if err != nil {
		return out, err
	}
	var recBefore any
	if exists {
		recBefore = rec
	}
	t := now.UTC().Truncate(time.Second)
	rec.Status, rec.FinalClass, rec.ClosedAt, rec.ClosedBy, rec.UpdatedAt = StatusConverted, p.Class, &t, by, t
	// What the trial showed stays on the record even when it came from attributes.
	rec.Barriers, rec.DesiredOutcome = p.Barriers, p.DesiredOutcome
	if err := putRecord(ctx, q, rec, now); err != nil {
		return out, err
	}
	recs, err := records(ctx, q, []string{accountID})
	if err != nil {
		return out, err
	}
	action := audit.ActionUpdate
	if !exists {
		action = audit.ActionCreate
	}
	if err := audit.Record(ctx, q, actor, action, "prospect", accountID, recBefore, recs[accountID]); err != nil {
		return out, err
	}

	// The handoff: fill the blank parts from the trial.
	var titles []string
	for _, cr := range p.Criteria {
		titles = append(titles, cr.Title)
	}
	h, err := account.GetHandoff(ctx, q, accountID)
	hadHandoff := err == nil
	if err != nil && !errors.Is(err, account.ErrNotFound) {
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	hBefore := h
	fill := func(dst *string, v string) {
		if strings.TrimSpace(*dst) == "" {
			*dst = v
		}
	}
	fill(&h.WhyBought, p.DesiredOutcome)
	fill(&h.Challenges, p.Barriers)
	fill(&h.SuccessCriteria, strings.Join(titles, "\n"))
	fill(&h.AuthorEmail, by)
	if !hadHandoff || h != hBefore {
		if err := account.SetHandoff(ctx, q, h); err != nil {
			return out, fmt.Errorf("convert %s: %w", accountID, err)
		}
		if h, err = account.GetHandoff(ctx, q, accountID); err != nil {
			return out, fmt.Errorf("convert %s: %w", accountID, err)
		}
		if hadHandoff {
			err = audit.Record(ctx, q, actor, audit.ActionUpdate, "handoff", accountID, hBefore, h)
		} else {
			err = audit.Record(ctx, q, actor, audit.ActionCreate, "handoff", accountID, nil, h)
		}
		if err != nil {
			return out, err
		}
	}
	out.Handoff, out.Completeness = h, successplan.Assess(h)

	// The success plan: the trial criteria as its first goals.
	plan, created, err := successplan.EnsurePlan(ctx, q, accountID, after.OwnerEmail, now)
	if err != nil {
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	if created {
		if err := audit.Record(ctx, q, actor, audit.ActionCreate, "success_plan", accountID, nil, plan); err != nil {
			return out, err
		}
	}
	goals, err := successplan.Goals(ctx, q, accountID)
	if err != nil {
		return out, err
	}
	have := map[string]bool{}
	for _, g := range goals {
		have[strings.ToLower(g.Title)] = true
	}
	out.Goals = []successplan.PlanGoal{}
	for _, cr := range p.Criteria {
		if have[strings.ToLower(cr.Title)] {
			continue
		}
		have[strings.ToLower(cr.Title)] = true
		g := successplan.PlanGoal{AccountID: accountID, Title: cr.Title, Status: successplan.GoalDraft, Source: successplan.SourceProspect,
			Tracking: successplan.TrackManual, Description: "A trial success criterion."}
		switch {
		case cr.Rule != "":
			g.Tracking, g.Rule = successplan.TrackRule, cr.Rule
		case cr.Met:
			g.ManualPercent = 100
		}
		if g, err = successplan.AddGoal(ctx, q, g, now); err != nil {
			return out, fmt.Errorf("convert %s: criterion %q: %w", accountID, cr.Title, err)
		}
		if err := audit.Record(ctx, q, actor, audit.ActionCreate, "success_goal", g.ID, nil, g); err != nil {
			return out, err
		}
		out.Goals = append(out.Goals, g)
	}

	// The timeline.
	var b strings.Builder
	fmt.Fprintf(&b, "Converted from trial (class %s, %s).", p.Class, p.ClassFrom)
	if p.DesiredOutcome != "" {
		fmt.Fprintf(&b, "\nDesired outcome: %s", p.DesiredOutcome)
	}
	if p.Barriers != "" {
		fmt.Fprintf(&b, "\nBarriers to adoption: %s", p.Barriers)
	}
	if len(p.Criteria) > 0 {
		fmt.Fprintf(&b, "\nTrial success criteria met: %d of %d", p.CriteriaMet, len(p.Criteria))
		for _, cr := range p.Criteria {
			mark := "[ ]"
			if cr.Met {
				mark = "[x]"
			}
			fmt.Fprintf(&b, "\n%s %s", mark, cr.Title)
		}
	}
	note, err := account.AddNote(ctx, q, account.Note{AccountID: accountID, Kind: "note", Body: b.String(), AuthorEmail: by, OccurredAt: t})
	if err != nil {
		return out, fmt.Errorf("convert %s: %w", accountID, err)
	}
	if err := audit.Record(ctx, q, actor, audit.ActionCreate, "note", note.ID, nil, note); err != nil {
		return out, err
	}
	out.Note = note

	if out.Prospect, err = Get(ctx, q, accountID, now); err != nil {
		return out, err
	}
	return out, nil
}
