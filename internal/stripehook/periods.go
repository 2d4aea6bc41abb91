package stripehook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// A subscription's periods are rewritten from its timeline like this: what
// lies before the change time (the event's time) is history and stays; the
// period that spans the change time is closed there; from the change time on,
// the periods are what the newest object says, including boundaries it
// announces for the future (a trial's end, a repeating coupon's end, a
// cancellation at the period's end). A period whose terms do not change at
// the change time is extended instead of split, so an update that does not
// touch the price (metadata, a payment method) leaves the periods alone.
// Only rows that differ are written, so nothing changes — not even
// updated_at — when the periods are already right.

// planPeriods returns the periods a subscription should have once tl, the
// timeline of its newest object, applies from the change time from. A nil
// from means there is no history to keep: tl is the whole story.
func planPeriods(existing []billing.Period, tl timeline, subID, accountID string, from *int64) []billing.Period {
	toPeriod := func(s segment) billing.Period {
		p := billing.Period{SubscriptionID: subID, AccountID: accountID, Start: time.Unix(s.start, 0).UTC(),
			MRRMinor: s.mrrMinor, Currency: tl.currency, Plan: tl.plan, Product: tl.product, Quantity: tl.quantity}
		if s.end != 0 {
			e := time.Unix(s.end, 0).UTC()
			p.End = &e
		}
		return p
	}
	var out []billing.Period
	c := int64(-1 << 62)
	if from != nil {
		c = *from
		cut := time.Unix(c, 0).UTC()
		for _, p := range existing {
			if p.Start.Unix() >= c {
				continue
			}
			if p.End == nil || p.End.Unix() > c {
				p.End = &cut
			}
			p.AccountID = accountID
			out = append(out, p)
		}
	}
	for _, s := range tl.segments {
		if s.end != 0 && s.end <= c {
			continue
		}
		s.start = max(s.start, c)
		p := toPeriod(s)
		if n := len(out); n > 0 && out[n-1].End != nil && out[n-1].End.Equal(p.Start) && sameTerms(out[n-1], p) {
			out[n-1].End = p.End
			continue
		}
		out = append(out, p)
	}
	return out
}

// sameTerms reports whether two periods bill the same: MRR, currency, plan,
// product and quantity.
func sameTerms(a, b billing.Period) bool {
	return a.MRRMinor == b.MRRMinor && a.Currency == b.Currency && a.Plan == b.Plan && a.Product == b.Product &&
		equalPtr(a.Quantity, b.Quantity)
}

// samePeriod reports whether two periods are identical.
func samePeriod(a, b billing.Period) bool {
	sameEnd := a.End == nil && b.End == nil || a.End != nil && b.End != nil && a.End.Equal(*b.End)
	return a.SubscriptionID == b.SubscriptionID && a.AccountID == b.AccountID && a.Start.Equal(b.Start) && sameEnd && sameTerms(a, b)
}

func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// writePeriods turns existing into desired, writing only what differs. It
// deletes first and then upserts in start order, so billing's overlap check
// never sees a half-rewritten subscription.
func writePeriods(ctx context.Context, q store.Querier, existing, desired []billing.Period) error {
	want := make(map[int64]bool, len(desired))
	for _, d := range desired {
		want[d.Start.Unix()] = true
	}
	have := make(map[int64]billing.Period, len(existing))
	for _, e := range existing {
		have[e.Start.Unix()] = e
		if !want[e.Start.Unix()] {
			if err := deletePeriod(ctx, q, e.SubscriptionID, e.Start); err != nil {
				return err
			}
		}
	}
	for _, d := range desired {
		if e, ok := have[d.Start.Unix()]; ok && samePeriod(e, d) {
			continue
		}
		if err := billing.UpsertPeriod(ctx, q, d); err != nil {
			return err
		}
	}
	return nil
}

// subscriptionPeriods returns every period of one subscription in start
// order, whichever account it is filed under (billing's overlap rule is per
// subscription). It and deletePeriod query billing's table directly because
// billing, as this package was written, lists periods by account only and
// deletes none; they should call billing once it does.
func subscriptionPeriods(ctx context.Context, q store.Querier, subID string) ([]billing.Period, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, start_at, end_at, mrr_minor, currency, plan, product, quantity
		FROM subscription_periods WHERE subscription_id = $1 ORDER BY start_at`, subID)
	if err != nil {
		return nil, fmt.Errorf("periods of subscription %s: %w", subID, err)
	}
	defer rows.Close()
	var out []billing.Period
	for rows.Next() {
		p := billing.Period{SubscriptionID: subID}
		var start int64
		var end sql.NullInt64
		var qty sql.NullFloat64
		if err := rows.Scan(&p.AccountID, &start, &end, &p.MRRMinor, &p.Currency, &p.Plan, &p.Product, &qty); err != nil {
			return nil, fmt.Errorf("periods of subscription %s: %w", subID, err)
		}
		p.Start = time.Unix(start, 0).UTC()
		if end.Valid {
			e := time.Unix(end.Int64, 0).UTC()
			p.End = &e
		}
		if qty.Valid {
			p.Quantity = &qty.Float64
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("periods of subscription %s: %w", subID, err)
	}
	return out, nil
}

// deletePeriod removes one period of a subscription: one that the newest
// object no longer foresees, such as the paid period after a trial that was
// canceled.
func deletePeriod(ctx context.Context, q store.Querier, subID string, start time.Time) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM subscription_periods WHERE subscription_id = $1 AND start_at = $2`,
		subID, start.Unix()); err != nil {
		return fmt.Errorf("delete period %s from %s: %w", subID, start.Format(time.RFC3339), err)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
