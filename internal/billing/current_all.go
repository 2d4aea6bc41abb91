package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// AllCurrentMRR is [CurrentMRR] for every account with an active period at
// at, from one scan of the periods: a business-wide view (the dashboard)
// needs them all, and a query per thousand ids would cost a hundred round
// trips at 100,000 accounts.
func AllCurrentMRR(ctx context.Context, q store.Querier, at time.Time) (map[string]map[string]int64, error) {
	// SUM of BIGINT is NUMERIC on PostgreSQL; the cast keeps it an integer for Scan.
	rows, err := q.QueryContext(ctx, `SELECT account_id, currency, CAST(SUM(mrr_minor) AS BIGINT) FROM subscription_periods
		WHERE start_at <= $1 AND (end_at IS NULL OR $1 < end_at)
		GROUP BY account_id, currency`, at.Unix())
	if err != nil {
		return nil, fmt.Errorf("current mrr of every account: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var id, cur string
		var minor int64
		if err := rows.Scan(&id, &cur, &minor); err != nil {
			return nil, fmt.Errorf("current mrr of every account: %w", err)
		}
		if out[id] == nil {
			out[id] = map[string]int64{}
		}
		out[id][cur] = minor
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("current mrr of every account: %w", err)
	}
	return out, nil
}
