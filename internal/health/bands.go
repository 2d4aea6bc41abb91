package health

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Banded is an account's current score and band, without the
// contributions that explain it.
type Banded struct {
	Score float64
	Band  string
}

// CurrentBands returns the current score and band of every account that
// has one, from one read: what a distribution over the whole business
// needs (the contributions [Current] decodes would be most of the cost).
func CurrentBands(ctx context.Context, q store.Querier) (map[string]Banded, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, score, band FROM health_current`)
	if err != nil {
		return nil, fmt.Errorf("current health bands: %w", err)
	}
	defer rows.Close()
	out := map[string]Banded{}
	for rows.Next() {
		var id string
		var b Banded
		if err := rows.Scan(&id, &b.Score, &b.Band); err != nil {
			return nil, fmt.Errorf("current health bands: %w", err)
		}
		out[id] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("current health bands: %w", err)
	}
	return out, nil
}
