package support

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrNotFound is returned when a ticket does not exist.
var ErrNotFound = errors.New("not found")

// TicketSorts are the fields tickets can be listed by.
var TicketSorts = []string{"opened_at", "ticket_id"}

// TicketFilter selects a page of tickets for [SearchTickets].
type TicketFilter struct {
	AccountID string // only this account's tickets
	Status    string // only tickets with this status
	Category  string // only tickets in this category
	Open      *bool  // only open (true: no closed_at) or closed (false) tickets

	Sort     string // one of TicketSorts; default opened_at
	Desc     bool
	AfterKey any    // [Ticket.SortKey] of the last ticket of the previous page
	AfterID  string // and its ticket_id
	Limit    int    // default 100
}

// SortKey is the ticket's value of a sort field, as a cursor carries it.
func (t Ticket) SortKey(sort string) any {
	if sort == "ticket_id" {
		return t.ID
	}
	return t.OpenedAt.Unix()
}

func nullUnix(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

// UpsertTicket creates or replaces one ticket.
func UpsertTicket(ctx context.Context, q store.Querier, t Ticket) error {
	switch {
	case t.ID == "" || t.AccountID == "":
		return errors.New("upsert ticket: ticket_id and account_id are required")
	case t.ClosedAt != nil && t.ClosedAt.Before(t.OpenedAt):
		return fmt.Errorf("upsert ticket %s: closed_at is before opened_at", t.ID)
	case t.CSAT != nil && (*t.CSAT < 1 || *t.CSAT > 5):
		return fmt.Errorf("upsert ticket %s: csat %d is not from 1 to 5", t.ID, *t.CSAT)
	}
	var csat any
	if t.CSAT != nil {
		csat = *t.CSAT
	}
	_, err := q.ExecContext(ctx, `INSERT INTO tickets (ticket_id, account_id, opened_at, closed_at, status, priority, category,
			subject, csat, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (ticket_id) DO UPDATE SET account_id = excluded.account_id, opened_at = excluded.opened_at,
			closed_at = excluded.closed_at, status = excluded.status, priority = excluded.priority,
			category = excluded.category, subject = excluded.subject, csat = excluded.csat, updated_at = excluded.updated_at`,
		t.ID, t.AccountID, t.OpenedAt.Unix(), nullUnix(t.ClosedAt), t.Status, t.Priority, t.Category, t.Subject, csat, store.Now())
	if err != nil {
		return fmt.Errorf("upsert ticket %s: %w", t.ID, err)
	}
	return nil
}

const ticketColumns = `ticket_id, account_id, opened_at, closed_at, status, priority, category, subject, csat`

func scanTicket(sc interface{ Scan(...any) error }) (Ticket, error) {
	var t Ticket
	var opened int64
	var closed, csat sql.NullInt64
	if err := sc.Scan(&t.ID, &t.AccountID, &opened, &closed, &t.Status, &t.Priority, &t.Category, &t.Subject, &csat); err != nil {
		return t, err
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
	return t, nil
}

// GetTicket returns one ticket, or ErrNotFound.
func GetTicket(ctx context.Context, q store.Querier, id string) (Ticket, error) {
	t, err := scanTicket(q.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE ticket_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("get ticket %s: %w", id, err)
	}
	return t, nil
}

// SearchTickets returns a page of tickets.
func SearchTickets(ctx context.Context, q store.Querier, f TicketFilter) ([]Ticket, error) {
	var col string
	switch f.Sort {
	case "", "opened_at":
		col = "opened_at"
	case "ticket_id":
		col = "ticket_id"
	default:
		return nil, fmt.Errorf("search tickets: unknown sort field %q (one of opened_at, ticket_id)", f.Sort)
	}
	open := ""
	if f.Open != nil {
		open = "closed"
		if *f.Open {
			open = "open"
		}
	}
	args := []any{f.AccountID, f.Status, f.Category, open}
	cond, order, args := store.Keyset(col, "ticket_id", f.Desc, f.AfterKey, f.AfterID, args)
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR status = $2) AND ($3 = '' OR category = $3)
		AND ($4 = '' OR ($4 = 'open') = (closed_at IS NULL)) AND `+cond+`
		ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search tickets: %w", err)
	}
	out, err := store.Collect(rows, scanTicket)
	if err != nil {
		return nil, fmt.Errorf("search tickets: %w", err)
	}
	return out, nil
}

// DeleteTicket removes one ticket, or returns ErrNotFound.
func DeleteTicket(ctx context.Context, q store.Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM tickets WHERE ticket_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete ticket %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete ticket %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	return nil
}

// OpenedBetween returns the tickets opened in [from, to), oldest first:
// what the frequent-inquiry (FAQ candidate) count reads.
func OpenedBetween(ctx context.Context, q store.Querier, from, to time.Time) ([]Ticket, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE opened_at >= $1 AND opened_at < $2
		ORDER BY opened_at, ticket_id`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("tickets opened from %s: %w", from.Format(time.DateOnly), err)
	}
	out, err := store.Collect(rows, scanTicket)
	if err != nil {
		return nil, fmt.Errorf("tickets opened from %s: %w", from.Format(time.DateOnly), err)
	}
	return out, nil
}
