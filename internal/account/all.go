package account

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// All returns every account (without attributes) in account_id order, or
// only those owned by owner when it is not empty: for views that rank or
// total the whole business, which [List]'s pages would take a hundred
// queries to cover at 100,000 accounts.
func All(ctx context.Context, q store.Querier, owner string) ([]Account, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE $1 = '' OR owner_email = $1 ORDER BY account_id`, owner)
	if err != nil {
		return nil, fmt.Errorf("all accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("all accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("all accounts: %w", err)
	}
	return out, nil
}
