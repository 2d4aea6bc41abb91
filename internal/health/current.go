package health

import (
	"context"
	"encoding/json"
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
			if err := json.Unmarshal([]byte(contributions), &s.Contributions); err != nil {
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
