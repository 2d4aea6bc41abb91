package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ContactSorts are the fields contacts can be listed by.
var ContactSorts = []string{"contact_id", "email", "name"}

// ContactFilter selects a page of contacts for [SearchContacts].
type ContactFilter struct {
	AccountID string // only this account's contacts
	Email     string // only contacts with this email

	Sort     string // one of ContactSorts; default contact_id
	Desc     bool
	AfterKey any    // [Contact.SortKey] of the last contact of the previous page
	AfterID  string // and its contact_id
	Limit    int    // default 100
}

// SortKey is the contact's value of a sort field, as a cursor carries it.
func (c Contact) SortKey(sort string) any {
	switch sort {
	case "email":
		return c.Email
	case "name":
		return c.Name
	}
	return c.ID
}

// GetContact returns one contact with its attributes, or ErrNotFound.
func GetContact(ctx context.Context, q store.Querier, id string) (Contact, error) {
	var c Contact
	err := q.QueryRowContext(ctx, `SELECT contact_id, account_id, email, name, role FROM contacts WHERE contact_id = $1`, id).
		Scan(&c.ID, &c.AccountID, &c.Email, &c.Name, &c.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("contact %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("get contact %s: %w", id, err)
	}
	c.Attributes, err = Attributes(ctx, q, ObjectContact, id)
	return c, err
}

// SearchContacts returns a page of contacts with their attributes.
func SearchContacts(ctx context.Context, q store.Querier, f ContactFilter) ([]Contact, error) {
	col, err := sortColumn(f.Sort, ContactSorts)
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	cond, order, args := store.Keyset(col, "contact_id", f.Desc, f.AfterKey, f.AfterID, []any{f.AccountID, f.Email})
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT contact_id, account_id, email, name, role FROM contacts
		WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR email = $2) AND `+cond+`
		ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	var out []Contact
	var ids []string
	for rows.Next() {
		var c Contact
		if err := rows.Scan(&c.ID, &c.AccountID, &c.Email, &c.Name, &c.Role); err != nil {
			rows.Close()
			return nil, fmt.Errorf("search contacts: %w", err)
		}
		out = append(out, c)
		ids = append(ids, c.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	attrs, err := AttributesOf(ctx, q, ObjectContact, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Attributes = attrs[out[i].ID]
	}
	return out, nil
}

// ReplaceContact stores a contact exactly as given, removing the custom
// attributes it does not name.
func ReplaceContact(ctx context.Context, q store.Querier, c Contact) error {
	if err := UpsertContact(ctx, q, c); err != nil {
		return err
	}
	return keepOnlyAttributes(ctx, q, ObjectContact, c.ID, c.Attributes)
}

// DeleteContact removes a contact and its attributes, or returns ErrNotFound.
func DeleteContact(ctx context.Context, q store.Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM contacts WHERE contact_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete contact %s: %w", id, err)
	}
	return affectedOne(res, "delete contact "+id)
}

// affectedOne turns "no row affected" into ErrNotFound.
func affectedOne(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
