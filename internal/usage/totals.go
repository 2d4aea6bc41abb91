package usage

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Totals returns, per account, the count of event over the days in
// [from, to) from the daily rollups; accounts without any are absent.
func Totals(ctx context.Context, q store.Querier, event string, from, to int64) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, SUM(count) FROM usage_daily
		WHERE event = $1 AND day >= $2 AND day < $3 GROUP BY account_id`, event, from, to)
	if err != nil {
		return nil, fmt.Errorf("usage totals of %s: %w", event, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("usage totals of %s: %w", event, err)
		}
		if n > 0 {
			out[id] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage totals of %s: %w", event, err)
	}
	return out, nil
}
