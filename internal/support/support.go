// Package support owns customer inquiries (お問い合わせ): support tickets with
// their status, priority, category and satisfaction rating.
package support

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Ticket is one inquiry.
type Ticket struct {
	ID        string     `json:"ticket_id"`
	AccountID string     `json:"account_id"`
	OpenedAt  time.Time  `json:"opened_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Status    string     `json:"status,omitempty"`
	Priority  string     `json:"priority,omitempty"`
	Category  string     `json:"category,omitempty"`
	Subject   string     `json:"subject,omitempty"`
	CSAT      *int       `json:"csat,omitempty"`
}

// StageTickets is the staging layout MergeTickets reads (after the line column).
const StageTickets = `ticket_id TEXT NOT NULL, account_id TEXT NOT NULL, opened_at BIGINT NOT NULL, closed_at BIGINT,
	status TEXT NOT NULL, priority TEXT NOT NULL, category TEXT NOT NULL, subject TEXT NOT NULL, csat INTEGER`

// StageTicketsColumns are StageTickets' column names, in order.
var StageTicketsColumns = []string{"ticket_id", "account_id", "opened_at", "closed_at", "status", "priority", "category", "subject", "csat"}

// MergeTickets upserts the staged tickets.
func MergeTickets(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	return store.MergeStaged(ctx, q, store.Merge{Stage: stage, Target: "tickets", Key: []string{"ticket_id"}, Now: now,
		Columns: []string{"account_id", "opened_at", "closed_at", "status", "priority", "category", "subject", "csat"}})
}

// Tickets returns an account's tickets, newest first.
func Tickets(ctx context.Context, q store.Querier, accountID string) ([]Ticket, error) {
	rows, err := q.QueryContext(ctx, `SELECT ticket_id, account_id, opened_at, closed_at, status, priority, category, subject, csat
		FROM tickets WHERE account_id = $1 ORDER BY opened_at DESC, ticket_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("tickets of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		var t Ticket
		var opened int64
		var closed, csat sql.NullInt64
		if err := rows.Scan(&t.ID, &t.AccountID, &opened, &closed, &t.Status, &t.Priority, &t.Category, &t.Subject, &csat); err != nil {
			return nil, err
		}
		t.OpenedAt = time.Unix(opened, 0).UTC()
		if closed.Valid {
			c := time.Unix(closed.Int64, 0).UTC()
			t.ClosedAt = &c
		}
		if csat.Valid {
			v := int(csat.Int64)
			t.CSAT = &v
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
