package account

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Names returns the names of the stored accounts among ids, by id, in one
// query per thousand ids: for a list of tasks or alerts that shows which
// account each is about without loading whole accounts.
func Names(ctx context.Context, q store.Querier, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), store.MaxInList)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, name FROM accounts WHERE account_id IN (`+
			store.Placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("names of %d accounts: %w", len(chunk), err)
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("names of %d accounts: %w", len(chunk), err)
			}
			out[id] = name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("names of %d accounts: %w", len(chunk), err)
		}
	}
	return out, nil
}
