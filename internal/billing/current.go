package billing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// CurrentMRR returns the MRR of each of accountIDs at instant at (usually
// now), in minor units by currency, from one query per thousand accounts:
// result[account][currency]. Accounts without an active period are absent.
// Convert the amounts with [Converter.Total].
func CurrentMRR(ctx context.Context, q store.Querier, accountIDs []string, at time.Time) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	for ids := accountIDs; len(ids) > 0; {
		chunk := ids[:min(len(ids), store.MaxInList)]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, at.Unix())
		for _, id := range chunk {
			args = append(args, id)
		}
		// SUM of BIGINT is NUMERIC on PostgreSQL; the cast keeps it an integer for Scan.
		rows, err := q.QueryContext(ctx, `SELECT account_id, currency, CAST(SUM(mrr_minor) AS BIGINT) FROM subscription_periods
			WHERE account_id IN (`+store.Placeholders(2, len(chunk))+`)
			AND start_at <= $1 AND (end_at IS NULL OR $1 < end_at)
			GROUP BY account_id, currency`, args...)
		if err != nil {
			return nil, fmt.Errorf("current mrr of %d accounts: %w", len(chunk), err)
		}
		for rows.Next() {
			var id, cur string
			var minor int64
			if err := rows.Scan(&id, &cur, &minor); err != nil {
				rows.Close()
				return nil, fmt.Errorf("current mrr of %d accounts: %w", len(chunk), err)
			}
			if out[id] == nil {
				out[id] = map[string]int64{}
			}
			out[id][cur] = minor
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("current mrr of %d accounts: %w", len(chunk), err)
		}
	}
	return out, nil
}

// Total converts amounts in minor units by currency (as [CurrentMRR] returns
// them) into major units of the reporting currency at t. An empty or nil map
// totals 0.
func (c *Converter) Total(minorByCurrency map[string]int64, t time.Time) (float64, error) {
	// Sum in a fixed order so the same amounts always give the same float.
	curs := make([]string, 0, len(minorByCurrency))
	for cur := range minorByCurrency {
		curs = append(curs, cur)
	}
	slices.Sort(curs)
	var sum float64
	for _, cur := range curs {
		v, err := c.Convert(minorByCurrency[cur], cur, t)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}
