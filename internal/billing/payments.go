package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// PaymentKind says whether an invoice was paid or a payment attempt failed.
type PaymentKind string

// The kinds of payment events.
const (
	PaymentPaid   PaymentKind = "paid"
	PaymentFailed PaymentKind = "failed"
)

// Payment is one invoice payment or one failed attempt to collect one, as
// the billing system (Stripe) reported it. Health reads the failures.
type Payment struct {
	AccountID   string      `json:"account_id"`
	InvoiceID   string      `json:"invoice_id"`
	Kind        PaymentKind `json:"kind"`
	AmountMinor int64       `json:"amount_minor"` // paid: the amount paid; failed: the amount that was due
	Currency    string      `json:"currency"`
	At          time.Time   `json:"at"`
}

// RecordPayment stores a payment event. The same invoice, kind and time
// recorded again changes nothing; inserted says whether the row is new.
func RecordPayment(ctx context.Context, q store.Querier, p Payment) (inserted bool, err error) {
	if p.AccountID == "" || p.InvoiceID == "" {
		return false, errors.New("record payment: account_id and invoice_id are required")
	}
	if p.Kind != PaymentPaid && p.Kind != PaymentFailed {
		return false, fmt.Errorf("record payment %s: kind %q is neither paid nor failed", p.InvoiceID, p.Kind)
	}
	cur := strings.ToUpper(p.Currency)
	if _, err := money.Currency(cur); err != nil {
		return false, fmt.Errorf("record payment %s: %w", p.InvoiceID, err)
	}
	res, err := q.ExecContext(ctx, `INSERT INTO payment_events (account_id, invoice_id, kind, amount_minor, currency, at, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (invoice_id, kind, at) DO NOTHING`,
		p.AccountID, p.InvoiceID, string(p.Kind), p.AmountMinor, cur, p.At.Unix(), store.Now())
	if err != nil {
		return false, fmt.Errorf("record payment %s: %w", p.InvoiceID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record payment %s: %w", p.InvoiceID, err)
	}
	return n > 0, nil
}

// Payments lists an account's payment events of kind with from ≤ at < to,
// oldest first. An empty kind lists both kinds.
func Payments(ctx context.Context, q store.Querier, accountID string, kind PaymentKind, from, to time.Time) ([]Payment, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, invoice_id, kind, amount_minor, currency, at FROM payment_events
		WHERE account_id = $1 AND ($2 = '' OR kind = $2) AND at >= $3 AND at < $4
		ORDER BY at, invoice_id, kind`, accountID, string(kind), from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("payments of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		var p Payment
		var kind string
		var at int64
		if err := rows.Scan(&p.AccountID, &p.InvoiceID, &kind, &p.AmountMinor, &p.Currency, &at); err != nil {
			return nil, fmt.Errorf("payments of %s: %w", accountID, err)
		}
		p.Kind, p.At = PaymentKind(kind), time.Unix(at, 0).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("payments of %s: %w", accountID, err)
	}
	return out, nil
}

// CountPaymentFailures counts an account's failed payment attempts with
// from ≤ at < to.
func CountPaymentFailures(ctx context.Context, q store.Querier, accountID string, from, to time.Time) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM payment_events
		WHERE account_id = $1 AND kind = 'failed' AND at >= $2 AND at < $3`, accountID, from.Unix(), to.Unix()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count payment failures of %s: %w", accountID, err)
	}
	return n, nil
}

// PaymentFailureCounts counts the failed payment attempts with from ≤ at < to
// of every account that has any, in one query (health scores all accounts at
// once). Accounts without failures are absent.
func PaymentFailureCounts(ctx context.Context, q store.Querier, from, to time.Time) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, COUNT(*) FROM payment_events
		WHERE kind = 'failed' AND at >= $1 AND at < $2 GROUP BY account_id`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("count payment failures: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count payment failures: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count payment failures: %w", err)
	}
	return out, nil
}

// MovePayments files the payment events of the given invoices under account
// to, for when the billing system's customer turns out to belong to another
// account than first assumed. It returns the rows moved.
func MovePayments(ctx context.Context, q store.Querier, invoiceIDs []string, to string) (int64, error) {
	var moved int64
	for ids := invoiceIDs; len(ids) > 0; {
		chunk := ids[:min(len(ids), store.MaxInList)]
		ids = ids[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, to)
		for _, id := range chunk {
			args = append(args, id)
		}
		res, err := q.ExecContext(ctx, `UPDATE payment_events SET account_id = $1
			WHERE account_id <> $1 AND invoice_id IN (`+store.Placeholders(2, len(chunk))+`)`, args...)
		if err != nil {
			return moved, fmt.Errorf("move payments to %s: %w", to, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return moved, fmt.Errorf("move payments to %s: %w", to, err)
		}
		moved += n
	}
	return moved, nil
}
