package account

import (
	"context"
	"fmt"
	"slices"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Where returns a condition on column col (an account id) that selects the
// accounts ids (existing and distinct, as a batch of snapshots is) and its
// arguments, numbered from first. When ids are every account from the
// first to the last (a batch of a full recompute), it is the key range: one
// range scan of an index that starts with the account id, which reads a
// batch in half the time of an IN list's seek an id. Otherwise it is an IN
// list of the ids (at most [store.MaxInList]). A range may also select
// accounts created since: callers look rows up by id and skip those.
func Where(ctx context.Context, q store.Querier, col string, ids []string, first int) (string, []any, error) {
	if len(ids) > store.MaxInList {
		return "", nil, fmt.Errorf("account condition: %d ids: at most %d", len(ids), store.MaxInList)
	}
	if n := len(ids); n > 2 {
		lo, hi := slices.Min(ids), slices.Max(ids)
		var count int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE account_id BETWEEN $1 AND $2`, lo, hi).Scan(&count); err != nil {
			return "", nil, fmt.Errorf("account condition: %w", err)
		}
		if count == n {
			return fmt.Sprintf("%s BETWEEN $%d AND $%d", col, first, first+1), []any{lo, hi}, nil
		}
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return col + " IN (" + store.Placeholders(first, len(ids)) + ")", args, nil
}
