package metrics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Renewal is a subscription (or an account) that comes up for renewal.
type Renewal struct {
	AccountID      string    `json:"account_id"`
	Name           string    `json:"name"`
	OwnerEmail     string    `json:"owner_email,omitempty"`
	SubscriptionID string    `json:"subscription_id,omitempty" doc:"Empty when the date is the account's renewal_date attribute."`
	Plan           string    `json:"plan,omitempty"`
	RenewalAt      time.Time `json:"renewal_at"`
	DaysLeft       int       `json:"days_left"`
	MRR            *float64  `json:"mrr" doc:"In the reporting currency; null without an exchange rate."`
	ARR            *float64  `json:"arr" doc:"12 × mrr."`
	Source         string    `json:"source" enum:"period_end,renewal_date" doc:"period_end: the subscription's current period ends then and no period follows it; renewal_date: the account's renewal_date attribute."`
}

// Renewals lists what comes up for renewal in the days after at: current
// subscription periods that end by then with no period following them, and
// accounts whose custom attribute renewal_date (a date, as CRMs export it)
// falls in the window. They come in date order.
func Renewals(ctx context.Context, q store.Querier, at time.Time, days int) ([]Renewal, error) {
	if days < 1 || days > 3660 {
		return nil, fmt.Errorf("%w: days %d: want 1 to 3660", ErrBadOptions, days)
	}
	conv, err := billing.LoadConverter(ctx, q)
	if err != nil {
		return nil, err
	}
	until := at.AddDate(0, 0, days)
	rows, err := q.QueryContext(ctx, `SELECT p.subscription_id, p.account_id, a.name, COALESCE(a.owner_email, ''), p.plan,
			p.end_at, p.mrr_minor, p.currency
		FROM subscription_periods p JOIN accounts a ON a.account_id = p.account_id
		WHERE p.start_at <= $1 AND p.end_at > $1 AND p.end_at <= $2
		AND NOT EXISTS (SELECT 1 FROM subscription_periods n WHERE n.subscription_id = p.subscription_id AND n.start_at = p.end_at)`,
		at.Unix(), until.Unix())
	if err != nil {
		return nil, fmt.Errorf("metrics: renewals: %w", err)
	}
	var out []Renewal
	for rows.Next() {
		var r Renewal
		var end, minor int64
		var cur string
		if err := rows.Scan(&r.SubscriptionID, &r.AccountID, &r.Name, &r.OwnerEmail, &r.Plan, &end, &minor, &cur); err != nil {
			rows.Close()
			return nil, fmt.Errorf("metrics: renewals: %w", err)
		}
		r.RenewalAt, r.Source = time.Unix(end, 0).UTC(), "period_end"
		if v, err := conv.Convert(minor, cur, at); err == nil {
			r.MRR = &v
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: renewals: %w", err)
	}

	// Dates are stored as YYYY-MM-DD text, which sorts as the dates do.
	rows, err = q.QueryContext(ctx, `SELECT a.account_id, a.name, COALESCE(a.owner_email, ''), v.value
		FROM account_attributes v JOIN accounts a ON a.account_id = v.account_id
		WHERE v.name = 'renewal_date' AND v.value > $1 AND v.value <= $2`,
		at.UTC().Format(time.DateOnly), until.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("metrics: renewals: %w", err)
	}
	var byAttr []Renewal
	for rows.Next() {
		var r Renewal
		var date string
		if err := rows.Scan(&r.AccountID, &r.Name, &r.OwnerEmail, &date); err != nil {
			rows.Close()
			return nil, fmt.Errorf("metrics: renewals: %w", err)
		}
		t, err := time.Parse(time.DateOnly, date)
		if err != nil {
			continue // not a date: the attribute's type is text
		}
		r.RenewalAt, r.Source = t, "renewal_date"
		byAttr = append(byAttr, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: renewals: %w", err)
	}
	if len(byAttr) > 0 {
		ids := make([]string, len(byAttr))
		for i, r := range byAttr {
			ids[i] = r.AccountID
		}
		mrr, err := billing.CurrentMRR(ctx, q, ids, at)
		if err != nil {
			return nil, err
		}
		for _, r := range byAttr {
			if v, err := conv.Total(mrr[r.AccountID], at); err == nil {
				r.MRR = &v
			}
			out = append(out, r)
		}
	}
	for i := range out {
		out[i].DaysLeft = int(math.Ceil(out[i].RenewalAt.Sub(at).Hours() / 24))
		if out[i].MRR != nil {
			arr := 12 * *out[i].MRR
			out[i].ARR = &arr
		}
	}
	slices.SortFunc(out, func(a, b Renewal) int {
		if c := a.RenewalAt.Compare(b.RenewalAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.AccountID, b.AccountID); c != 0 {
			return c
		}
		return strings.Compare(a.SubscriptionID, b.SubscriptionID)
	})
	return out, nil
}
