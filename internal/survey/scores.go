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

// Scores returns the scores of the responses of kind (nps, csat, ces)
// answered in [from, to), only of accounts owned by owner when it is not
// empty: the input of [NPS] or [CSAT] over a trailing window such as the
// dashboard's last 90 days.
func Scores(ctx context.Context, q store.Querier, kind string, from, to time.Time, owner string) ([]int, error) {
	if _, ok := ScoreRange[kind]; !ok {
		return nil, fmt.Errorf("survey scores: kind %q: want nps, csat or ces", kind)
	}
	rows, err := q.QueryContext(ctx, `SELECT r.score FROM survey_responses r JOIN accounts a ON a.account_id = r.account_id
		WHERE r.kind = $1 AND r.answered_at >= $2 AND r.answered_at < $3 AND ($4 = '' OR a.owner_email = $4)`,
		kind, from.Unix(), to.Unix(), owner)
	if err != nil {
		return nil, fmt.Errorf("survey scores: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var s int
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("survey scores: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("survey scores: %w", err)
	}
	return out, nil
}
