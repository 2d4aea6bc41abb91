package billing

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Terms are what an account's current subscription periods say about it
// beyond the MRR: the plan and when it comes up for renewal.
type Terms struct {
	// Plan is the plan of the largest current period (by MRR in the
	// reporting currency), as the snapshot's plan field has it.
	Plan string
	// Renewal is the soonest end of a current period that has no period
	// after it (nil when every current period is open-ended or continues).
	Renewal *time.Time
}

// CurrentTerms returns the terms of every account with a period current at
// instant at, from one query over the current periods. conv ranks periods
// of different currencies; a period whose currency has no rate ranks by its
// minor units, so one missing rate does not hide an account's plan.
func CurrentTerms(ctx context.Context, q store.Querier, conv *Converter, at time.Time) (map[string]Terms, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.account_id, p.mrr_minor, p.currency, p.plan, p.end_at,
			EXISTS (SELECT 1 FROM subscription_periods n WHERE n.subscription_id = p.subscription_id AND n.start_at = p.end_at)
		FROM subscription_periods p
		WHERE p.start_at <= $1 AND (p.end_at IS NULL OR p.end_at > $1)`, at.Unix())
	if err != nil {
		return nil, fmt.Errorf("current terms: %w", err)
	}
	defer rows.Close()
	out := map[string]Terms{}
	largest := map[string]float64{}
	for rows.Next() {
		var id, cur, plan string
		var minor int64
		var end sql.NullInt64
		var next bool
		if err := rows.Scan(&id, &minor, &cur, &plan, &end, &next); err != nil {
			return nil, fmt.Errorf("current terms: %w", err)
		}
		v, err := conv.Convert(minor, cur, at)
		if err != nil {
			v = float64(minor)
		}
		t, seen := out[id]
		if !seen || v > largest[id] {
			largest[id], t.Plan = v, plan
		}
		if end.Valid && !next {
			e := time.Unix(end.Int64, 0).UTC()
			if t.Renewal == nil || e.Before(*t.Renewal) {
				t.Renewal = &e
			}
		}
		out[id] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("current terms: %w", err)
	}
	return out, nil
}
