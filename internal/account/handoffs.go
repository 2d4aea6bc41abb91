package account

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// HandoffSorts are the fields handoff records can be listed by.
var HandoffSorts = []string{"account_id", "updated_at"}

// HandoffFilter selects a page of handoff records for [SearchHandoffs].
type HandoffFilter struct {
	AuthorEmail string // only records written by this author

	Sort     string // one of HandoffSorts; default account_id
	Desc     bool
	AfterKey any    // [Handoff.SortKey] of the last record of the previous page
	AfterID  string // and its account_id
	Limit    int    // default 100
}

// SortKey is the record's value of a sort field, as a cursor carries it.
func (h Handoff) SortKey(sort string) any {
	if sort == "updated_at" {
		return h.UpdatedAt.Unix()
	}
	return h.AccountID
}

// SearchHandoffs returns a page of handoff records.
func SearchHandoffs(ctx context.Context, q store.Querier, f HandoffFilter) ([]Handoff, error) {
	col, err := sortColumn(f.Sort, HandoffSorts)
	if err != nil {
		return nil, fmt.Errorf("search handoffs: %w", err)
	}
	cond, order, args := store.Keyset(col, "account_id", f.Desc, f.AfterKey, f.AfterID, []any{f.AuthorEmail})
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT account_id, why_bought, challenges, proposed, promised, success_criteria,
		decision_makers, author_email, updated_at FROM handoffs
		WHERE ($1 = '' OR author_email = $1) AND `+cond+`
		ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search handoffs: %w", err)
	}
	defer rows.Close()
	var out []Handoff
	for rows.Next() {
		var h Handoff
		var updated int64
		if err := rows.Scan(&h.AccountID, &h.WhyBought, &h.Challenges, &h.Proposed, &h.Promised, &h.SuccessCriteria,
			&h.DecisionMakers, &h.AuthorEmail, &updated); err != nil {
			return nil, fmt.Errorf("search handoffs: %w", err)
		}
		h.UpdatedAt = time.Unix(updated, 0).UTC()
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search handoffs: %w", err)
	}
	return out, nil
}

// DeleteHandoff removes an account's handoff record, or returns ErrNotFound.
func DeleteHandoff(ctx context.Context, q store.Querier, accountID string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM handoffs WHERE account_id = $1`, accountID)
	if err != nil {
		return fmt.Errorf("delete handoff of %s: %w", accountID, err)
	}
	return affectedOne(res, "delete handoff of "+accountID)
}
