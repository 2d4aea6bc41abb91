package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrUnknownSort is returned for a sort name a search does not offer.
var ErrUnknownSort = errors.New("unknown sort field")

// AccountSorts are the fields accounts can be listed by.
var AccountSorts = []string{"account_id", "name", "updated_at"}

// Filter selects a page of accounts for [Search].
type Filter struct {
	Owner  string // only accounts owned by this email
	Parent string // only accounts whose parent is this account
	Stage  string // only accounts whose current lifecycle stage is this (internal/lifecycle's account_stages)

	Sort string // one of AccountSorts; default account_id
	Desc bool   // descending
	// AfterKey and AfterID are the sort value ([Account.SortKey]) and the id
	// of the last account of the previous page; both zero for the first page.
	AfterKey any
	AfterID  string
	Limit    int // default 100
}

// SortKey is the account's value of a sort field, as a cursor carries it:
// a string, or unix seconds for times.
func (a Account) SortKey(sort string) any {
	switch sort {
	case "name":
		return a.Name
	case "updated_at":
		return a.UpdatedAt.Unix()
	}
	return a.ID
}

func sortColumn(sort string, allowed []string) (string, error) {
	if sort == "" {
		return allowed[0], nil
	}
	for _, s := range allowed {
		if s == sort {
			return s, nil
		}
	}
	return "", fmt.Errorf("%w %q (one of %s)", ErrUnknownSort, sort, strings.Join(allowed, ", "))
}

// Search returns a page of accounts (without attributes; see [AttributesOf]).
func Search(ctx context.Context, q store.Querier, f Filter) ([]Account, error) {
	col, err := sortColumn(f.Sort, AccountSorts)
	if err != nil {
		return nil, fmt.Errorf("search accounts: %w", err)
	}
	// Owner emails are stored lower-cased, as every write path folds them.
	args := []any{strings.ToLower(strings.TrimSpace(f.Owner)), f.Parent, f.Stage}
	cond, order, args := store.Keyset(col, "account_id", f.Desc, f.AfterKey, f.AfterID, args)
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE ($1 = '' OR owner_email = $1) AND ($2 = '' OR parent_account_id = $2)
			AND ($3 = '' OR account_id IN (SELECT s.account_id FROM account_stages s WHERE s.stage_id = $3)) AND `+cond+`
		ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search accounts: %w", err)
	}
	out, err := store.Collect(rows, scanAccount)
	if err != nil {
		return nil, fmt.Errorf("search accounts: %w", err)
	}
	return out, nil
}

// Replace stores an account exactly as given: its fields, and its custom
// attributes, removing those it does not name (PUT), where [Upsert] keeps
// them (a partial CSV file).
func Replace(ctx context.Context, q store.Querier, a Account) error {
	if err := Upsert(ctx, q, a); err != nil {
		return err
	}
	return keepOnlyAttributes(ctx, q, ObjectAccount, a.ID, a.Attributes)
}

// keepOnlyAttributes removes the attributes of one object that attrs does
// not name (or names with an empty value, which SetAttributes removed).
func keepOnlyAttributes(ctx context.Context, q store.Querier, object, id string, attrs map[string]any) error {
	table, key, err := attrTable(object)
	if err != nil {
		return err
	}
	args := []any{id}
	for name, v := range attrs {
		if formatAttr(v) != "" {
			args = append(args, name)
		}
	}
	query := `DELETE FROM ` + table + ` WHERE ` + key + ` = $1`
	if len(args) > 1 {
		query += ` AND name NOT IN (` + store.Placeholders(2, len(args)-1) + `)`
	}
	if _, err := q.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("replace attributes of %s %s: %w", object, id, err)
	}
	return nil
}

// Delete removes an account and, through the schema's cascades, its
// attributes, contacts, subscription periods, tickets, survey responses,
// orders, notes and handoff; accounts that named it as parent lose their
// parent. Usage events and rollups are kept (they are history, and an
// account imported again gets them back). ErrNotFound when there is no
// such account.
func Delete(ctx context.Context, q store.Querier, id string) error {
	if _, err := q.ExecContext(ctx, `UPDATE accounts SET parent_account_id = NULL, updated_at = $2
		WHERE parent_account_id = $1`, id, store.Now()); err != nil {
		return fmt.Errorf("delete account %s: %w", id, err)
	}
	res, err := q.ExecContext(ctx, `DELETE FROM accounts WHERE account_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete account %s: %w", id, err)
	}
	return affectedOne(res, "delete account "+id)
}

// Existing returns which of ids are stored accounts, in one query per
// thousand ids.
func Existing(ctx context.Context, q store.Querier, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), store.MaxInList)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id FROM accounts WHERE account_id IN (`+
			store.Placeholders(1, len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("check %d accounts: %w", len(chunk), err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("check %d accounts: %w", len(chunk), err)
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("check %d accounts: %w", len(chunk), err)
		}
	}
	return out, nil
}
