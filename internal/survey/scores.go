package survey

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

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
