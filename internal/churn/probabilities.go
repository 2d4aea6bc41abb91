package churn

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// CurrentProbabilities returns the latest stored churn probability of every
// scored account, from one read, for views over the whole business; [Current]
// gives the reasons too, for a few accounts.
func CurrentProbabilities(ctx context.Context, q store.Querier) (map[string]float64, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, probability FROM churn_scores`)
	if err != nil {
		return nil, fmt.Errorf("current churn probabilities: %w", err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var id string
		var p float64
		if err := rows.Scan(&id, &p); err != nil {
			return nil, fmt.Errorf("current churn probabilities: %w", err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("current churn probabilities: %w", err)
	}
	return out, nil
}
