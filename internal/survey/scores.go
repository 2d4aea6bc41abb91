package survey

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ScoresBetween returns, per account, the scores of its responses of kind
// (nps, csat, ces) answered in [from, to), oldest first.
func ScoresBetween(ctx context.Context, q store.Querier, kind string, from, to time.Time) (map[string][]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, score FROM survey_responses
		WHERE kind = $1 AND answered_at >= $2 AND answered_at < $3 ORDER BY account_id, answered_at, response_id`,
		kind, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("%s scores: %w", kind, err)
	}
	defer rows.Close()
	out := map[string][]int{}
	for rows.Next() {
		var id string
		var score int
		if err := rows.Scan(&id, &score); err != nil {
			return nil, fmt.Errorf("%s scores: %w", kind, err)
		}
		out[id] = append(out[id], score)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s scores: %w", kind, err)
	}
	return out, nil
}
