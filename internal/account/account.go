// Package account owns the customer record: accounts with their custom
// attributes, contacts, the activity timeline (notes) and the sales→CS handoff.
package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrNotFound is returned when an account, contact or handoff does not exist.
var ErrNotFound = errors.New("not found")

// Account is a customer: a B2B company or a B2C subscriber.
type Account struct {
	ID         string         `json:"account_id"`
	Name       string         `json:"name"`
	SignupAt   *time.Time     `json:"signup_at,omitempty"`
	OwnerEmail string         `json:"owner_email,omitempty"`
	ParentID   string         `json:"parent_account_id,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
	RecordedAt time.Time      `json:"recorded_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

// Upsert creates or updates an account and replaces the attributes it names
// (an attribute set to nil or "" is removed). Attribute types are inferred and
// widened as in CSV imports.
func Upsert(ctx context.Context, q store.Querier, a Account) error {
	if a.ID == "" {
		return errors.New("upsert account: empty account_id")
	}
	now := store.Now()
	_, err := q.ExecContext(ctx, `
		INSERT INTO accounts (account_id, name, signup_at, owner_email, parent_account_id, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (account_id) DO UPDATE SET
			name = excluded.name, signup_at = excluded.signup_at, owner_email = excluded.owner_email,
			parent_account_id = excluded.parent_account_id, updated_at = excluded.updated_at
		WHERE accounts.name IS DISTINCT FROM excluded.name OR accounts.signup_at IS DISTINCT FROM excluded.signup_at
			OR accounts.owner_email IS DISTINCT FROM excluded.owner_email
			OR accounts.parent_account_id IS DISTINCT FROM excluded.parent_account_id`,
		a.ID, a.Name, nullTime(a.SignupAt), nullString(a.OwnerEmail), nullString(a.ParentID), now)
	if err != nil {
		return fmt.Errorf("upsert account %s: %w", a.ID, err)
	}
	if len(a.Attributes) > 0 {
		if err := SetAttributes(ctx, q, ObjectAccount, a.ID, a.Attributes); err != nil {
			return fmt.Errorf("upsert account %s: %w", a.ID, err)
		}
	}
	return nil
}

const accountColumns = `account_id, name, signup_at, owner_email, parent_account_id, recorded_at, updated_at`

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var (
		a                 Account
		signup            sql.NullInt64
		owner, parent     sql.NullString
		recorded, updated int64
	)
	if err := sc.Scan(&a.ID, &a.Name, &signup, &owner, &parent, &recorded, &updated); err != nil {
		return a, err
	}
	if signup.Valid {
		t := time.Unix(signup.Int64, 0).UTC()
		a.SignupAt = &t
	}
	a.OwnerEmail, a.ParentID = owner.String, parent.String
	a.RecordedAt, a.UpdatedAt = time.Unix(recorded, 0).UTC(), time.Unix(updated, 0).UTC()
	return a, nil
}

// Get returns one account with its attributes.
func Get(ctx context.Context, q store.Querier, id string) (Account, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE account_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("get account %s: %w", id, err)
	}
	a.Attributes, err = Attributes(ctx, q, ObjectAccount, id)
	return a, err
}

// ListOptions select a page of accounts, ordered by account_id.
type ListOptions struct {
	After string // return accounts whose id sorts after this one (the cursor)
	Limit int    // at most this many (default 100, at most 1000)
	Owner string // only accounts owned by this email
}

// List returns a page of accounts (without attributes) in account_id order.
func List(ctx context.Context, q store.Querier, o ListOptions) ([]Account, error) {
	if o.Limit <= 0 {
		o.Limit = 100
	}
	o.Limit = min(o.Limit, 1000)
	rows, err := q.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts
		WHERE account_id > $1 AND ($2 = '' OR owner_email = $2)
		ORDER BY account_id LIMIT $3`, o.After, o.Owner, o.Limit)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Count returns the number of accounts.
func Count(ctx context.Context, q store.Querier) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
	return n, err
}

// StageAccounts is the staging table layout MergeAccounts reads (after the line column).
const StageAccounts = `account_id TEXT NOT NULL, name TEXT NOT NULL, signup_at BIGINT, owner_email TEXT, parent_account_id TEXT`

// StageAccountsColumns are StageAccounts' column names, in order.
var StageAccountsColumns = []string{"account_id", "name", "signup_at", "owner_email", "parent_account_id"}

// MergeAccounts upserts the staged accounts; it returns the rows inserted or changed.
func MergeAccounts(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	return store.MergeStaged(ctx, q, store.Merge{
		Stage: stage, Target: "accounts", Key: []string{"account_id"},
		Columns: []string{"name", "signup_at", "owner_email", "parent_account_id"}, Now: now,
	})
}

// MissingParentsSQL lists staged lines whose parent account exists neither in
// the database nor in the same file; (line, value) rows.
func MissingParentsSQL(stage string) string {
	return `SELECT s.line, s.parent_account_id FROM ` + stage + ` s
		WHERE s.parent_account_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = s.parent_account_id)
		AND NOT EXISTS (SELECT 1 FROM ` + stage + ` p WHERE p.account_id = s.parent_account_id)`
}

// MissingSQL lists staged lines naming an account that does not exist; (line, value) rows.
func MissingSQL(stage, column string) string {
	return `SELECT s.line, s.` + column + ` FROM ` + stage + ` s
		WHERE s.` + column + ` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = s.` + column + `)`
}

// CreateMissing creates a bare account for every account id a staging table
// names that does not exist yet (`kizuna import --create-accounts`).
func CreateMissing(ctx context.Context, q store.Querier, stage, column string, now int64) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO accounts (account_id, name, recorded_at, updated_at)
		SELECT DISTINCT s.`+column+`, '', CAST($1 AS BIGINT), CAST($1 AS BIGINT) FROM `+stage+` s
		WHERE s.`+column+` IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = s.`+column+`)
		ON CONFLICT (account_id) DO NOTHING`, now)
	if err != nil {
		return 0, fmt.Errorf("create missing accounts: %w", err)
	}
	return res.RowsAffected()
}
