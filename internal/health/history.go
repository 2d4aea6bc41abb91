package health

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ScoresOn returns each account's health score on day (a day number): the
// score of its latest history row on or before that day. Accounts scored
// only after day are absent.
func ScoresOn(ctx context.Context, q store.Querier, day int64) (map[string]float64, error) {
	rows, err := q.QueryContext(ctx, `SELECT h.account_id, h.score FROM health_scores h
		JOIN (SELECT account_id, MAX(day) AS day FROM health_scores WHERE day <= $1 GROUP BY account_id) l
		ON l.account_id = h.account_id AND l.day = h.day`, day)
	if err != nil {
		return nil, fmt.Errorf("health scores on day %d: %w", day, err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var id string
		var score float64
		if err := rows.Scan(&id, &score); err != nil {
			return nil, fmt.Errorf("health scores on day %d: %w", day, err)
		}
		out[id] = score
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("health scores on day %d: %w", day, err)
	}
	return out, nil
}
