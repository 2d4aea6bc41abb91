package account

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// IDs returns the id of every account, for checking many rows against them
// in memory (the events import). It is as large as the accounts table.
func IDs(ctx context.Context, q store.Querier) (map[string]struct{}, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id FROM accounts`)
	if err != nil {
		return nil, fmt.Errorf("account ids: %w", err)
	}
	defer rows.Close()
	ids := map[string]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("account ids: %w", err)
		}
		ids[id] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account ids: %w", err)
	}
	return ids, nil
}

// CreateBare creates a bare account (no name) for each of ids that does not
// exist yet (`kizuna import --create-accounts`) and returns how many it created.
func CreateBare(ctx context.Context, q store.Querier, ids []string, now int64) (int64, error) {
	var created int64
	for start := 0; start < len(ids); start += store.MaxInList {
		part := ids[start:min(start+store.MaxInList, len(ids))]
		var b strings.Builder
		b.WriteString(`INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES `)
		args := make([]any, 0, len(part)+1)
		args = append(args, now)
		for i, id := range part {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("($" + strconv.Itoa(i+2) + ", '', CAST($1 AS BIGINT), CAST($1 AS BIGINT))")
			args = append(args, id)
		}
		b.WriteString(` ON CONFLICT (account_id) DO NOTHING`)
		res, err := q.ExecContext(ctx, b.String(), args...)
		if err != nil {
			return created, fmt.Errorf("create accounts: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return created, fmt.Errorf("create accounts: %w", err)
		}
		created += n
	}
	return created, nil
}
