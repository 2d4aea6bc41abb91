package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Contact is a person at a customer.
type Contact struct {
	ID         string         `json:"contact_id"`
	AccountID  string         `json:"account_id"`
	Email      string         `json:"email,omitempty"`
	Name       string         `json:"name,omitempty"`
	Role       string         `json:"role,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// UpsertContact creates or updates a contact and the attributes it names.
func UpsertContact(ctx context.Context, q store.Querier, c Contact) error {
	if c.ID == "" || c.AccountID == "" {
		return errors.New("upsert contact: contact_id and account_id are required")
	}
	_, err := q.ExecContext(ctx, `INSERT INTO contacts (contact_id, account_id, email, name, role, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (contact_id) DO UPDATE SET account_id = excluded.account_id, email = excluded.email,
			name = excluded.name, role = excluded.role, updated_at = excluded.updated_at`,
		c.ID, c.AccountID, c.Email, c.Name, c.Role, store.Now())
	if err != nil {
		return fmt.Errorf("upsert contact %s: %w", c.ID, err)
	}
	if len(c.Attributes) > 0 {
		return SetAttributes(ctx, q, ObjectContact, c.ID, c.Attributes)
	}
	return nil
}

// Contacts lists the contacts of an account, with their attributes.
func Contacts(ctx context.Context, q store.Querier, accountID string) ([]Contact, error) {
	rows, err := q.QueryContext(ctx, `SELECT contact_id, account_id, email, name, role FROM contacts
		WHERE account_id = $1 ORDER BY contact_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("contacts of %s: %w", accountID, err)
	}
	var out []Contact
	for rows.Next() {
		var c Contact
		if err := rows.Scan(&c.ID, &c.AccountID, &c.Email, &c.Name, &c.Role); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Attributes, err = Attributes(ctx, q, ObjectContact, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StageContacts is the staging layout MergeContacts reads (after the line column).
const StageContacts = `contact_id TEXT NOT NULL, account_id TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL`

// StageContactsColumns are StageContacts' column names, in order.
var StageContactsColumns = []string{"contact_id", "account_id", "email", "name", "role"}

// MergeContacts upserts the staged contacts.
func MergeContacts(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	return store.MergeStaged(ctx, q, store.Merge{Stage: stage, Target: "contacts", Key: []string{"contact_id"},
		Columns: []string{"account_id", "email", "name", "role"}, Now: now})
}
