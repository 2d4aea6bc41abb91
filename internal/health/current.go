package health

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// CurrentHealth is an account's current health as account listings show it.
type CurrentHealth struct {
	Score         float64        `json:"score"`
	Band          string         `json:"band" enum:"green,yellow,red"`
	Contributions []Contribution `json:"contributions"`
}

// Current returns the stored current health of the accounts that have one,
// by account id, in one query per thousand ids.
func Current(ctx context.Context, q store.Querier, ids []string) (map[string]CurrentHealth, error) {
	out := make(map[string]CurrentHealth, len(ids))
	for first := 0; first < len(ids); first += store.MaxInList {
		chunk := ids[first:min(first+store.MaxInList, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, score, band, contributions FROM health_current
			WHERE account_id IN (`+store.Placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("current health: %w", err)
		}
		for rows.Next() {
			var id, contributions string
			var s CurrentHealth
			if err := rows.Scan(&id, &s.Score, &s.Band, &contributions); err != nil {
				rows.Close()
				return nil, fmt.Errorf("current health: %w", err)
			}
			if s.Contributions, err = parseContributions(contributions); err != nil {
				rows.Close()
				return nil, fmt.Errorf("current health of %s: contributions: %w", id, err)
			}
			out[id] = s
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("current health: %w", err)
		}
	}
	return out, nil
}

// Banded is an account's current effective score and band, without the
// explanation: what a list of every account needs.
type Banded struct {
	Score float64
	Band  string
}

// AllBands returns the current score and band of every scored account,
// from one read of health_current.
func AllBands(ctx context.Context, q store.Querier) (map[string]Banded, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, score, band FROM health_current`)
	if err != nil {
		return nil, fmt.Errorf("all health bands: %w", err)
	}
	defer rows.Close()
	out := map[string]Banded{}
	for rows.Next() {
		var id string
		var b Banded
		if err := rows.Scan(&id, &b.Score, &b.Band); err != nil {
			return nil, fmt.Errorf("all health bands: %w", err)
		}
		out[id] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("all health bands: %w", err)
	}
	return out, nil
}
