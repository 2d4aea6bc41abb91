package survey

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Scores returns, per account, the scores of its responses of kind (nps,
// csat, ces) answered in [from, to), oldest first, only of accounts owned
// by owner when it is not empty: the input of [NPS] or [CSAT] over a
// window, per account (the programs' correlations) or pooled (the
// dashboard's last 90 days, see [Pooled]).
func Scores(ctx context.Context, q store.Querier, kind string, from, to time.Time, owner string) (map[string][]int, error) {
	if _, ok := ScoreRange[kind]; !ok {
		return nil, fmt.Errorf("survey scores: kind %q: want nps, csat or ces", kind)
	}
	rows, err := q.QueryContext(ctx, `SELECT r.account_id, r.score FROM survey_responses r
		WHERE r.kind = $1 AND r.answered_at >= $2 AND r.answered_at < $3
			AND ($4 = '' OR r.account_id IN (SELECT a.account_id FROM accounts a WHERE a.owner_email = $4))
		ORDER BY r.account_id, r.answered_at, r.response_id`,
		kind, from.Unix(), to.Unix(), owner)
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

// Pooled is every account's scores of [Scores] in one list (in no
// particular order: NPS and CSAT do not depend on it).
func Pooled(byAccount map[string][]int) []int {
	var out []int
	for _, s := range byAccount {
		out = append(out, s...)
	}
	return out
}
