package stripehook

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// The kinds of Stripe objects Kizuna follows (stripe_objects.kind).
const (
	kindCustomer     = "customer"
	kindSubscription = "subscription"
	kindDiscount     = "discount"
	kindInvoice      = "invoice"
)

// Event ranks order events of one object that Stripe created in the same
// second: an object is created before it is updated, and updated before it
// is deleted.
const (
	rankCreated = 0
	rankUpdated = 1
	rankDeleted = 2
)

// object is the stored state of one Stripe object (a stripe_objects row).
type object struct {
	id, kind   string
	customerID string
	accountID  string
	eventAt    int64 // created time of the newest event applied; 0: none yet
	rank       int
	state      string // a subscription's status; "deleted" for a removed discount
	raw        string // the object as that event carried it (JSON)
}

// known reports whether an event about the object has been applied, as
// opposed to the object being only referred to so far.
func (o object) known() bool { return o.eventAt > 0 }

// older reports whether an event created at eventAt with rank is older than
// the one the stored state came from. Events of the same second and rank
// are applied in the order they arrive, which is the best Stripe lets us know.
func (o object) older(eventAt int64, rank int) bool {
	return o.known() && (eventAt < o.eventAt || eventAt == o.eventAt && rank < o.rank)
}

// lockObject reads the stored state of a Stripe object, creating an empty
// row for it first, and holds the row's lock until the transaction ends. On
// PostgreSQL that serialises concurrent events about one object (the
// upsert waits for another transaction that holds the row, even one that
// inserted it and has not committed yet); SQLite transactions here take the
// database's write lock at BEGIN and are serial anyway. The same statement
// text serves both.
func lockObject(ctx context.Context, q store.Querier, id, kind string) (object, error) {
	if _, err := q.ExecContext(ctx, `INSERT INTO stripe_objects (object_id, kind, event_at, event_rank, updated_at)
		VALUES ($1, $2, 0, 0, $3)
		ON CONFLICT (object_id) DO UPDATE SET updated_at = stripe_objects.updated_at`, id, kind, store.Now()); err != nil {
		return object{}, fmt.Errorf("lock stripe %s %s: %w", kind, id, err)
	}
	o := object{id: id}
	err := q.QueryRowContext(ctx, `SELECT kind, customer_id, account_id, event_at, event_rank, state, object
		FROM stripe_objects WHERE object_id = $1`, id).Scan(&o.kind, &o.customerID, &o.accountID, &o.eventAt, &o.rank, &o.state, &o.raw)
	if err != nil {
		return o, fmt.Errorf("read stripe %s %s: %w", kind, id, err)
	}
	if o.kind != kind {
		return o, fmt.Errorf("stripe object %s is a %s, not a %s", id, o.kind, kind)
	}
	return o, nil
}

// saveObject writes the state of an object locked with lockObject.
func saveObject(ctx context.Context, q store.Querier, o object) error {
	_, err := q.ExecContext(ctx, `UPDATE stripe_objects SET customer_id = $2, account_id = $3, event_at = $4, event_rank = $5,
		state = $6, object = $7, updated_at = $8 WHERE object_id = $1`,
		o.id, o.customerID, o.accountID, o.eventAt, o.rank, o.state, o.raw, store.Now())
	if err != nil {
		return fmt.Errorf("save stripe %s %s: %w", o.kind, o.id, err)
	}
	return nil
}

// objectsOf returns the ids of a customer's objects of kind, in id order.
func objectsOf(ctx context.Context, q store.Querier, customerID, kind string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT object_id FROM stripe_objects WHERE customer_id = $1 AND kind = $2 ORDER BY object_id`,
		customerID, kind)
	if err != nil {
		return nil, fmt.Errorf("stripe %ss of %s: %w", kind, customerID, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("stripe %ss of %s: %w", kind, customerID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stripe %ss of %s: %w", kind, customerID, err)
	}
	return ids, nil
}

// storedDiscount returns a discount as a customer.discount event stored it;
// found is false when none was stored or it was removed.
func storedDiscount(ctx context.Context, q store.Querier, id string) (d discount, found bool, err error) {
	var state, raw string
	err = q.QueryRowContext(ctx, `SELECT state, object FROM stripe_objects WHERE object_id = $1 AND kind = $2 AND event_at > 0`,
		id, kindDiscount).Scan(&state, &raw)
	if err != nil {
		if isNoRows(err) {
			return d, false, nil
		}
		return d, false, fmt.Errorf("stored discount %s: %w", id, err)
	}
	if state == stateDeleted {
		return d, false, nil
	}
	d, ok, err := parseDiscount([]byte(raw))
	if err != nil {
		return d, false, fmt.Errorf("stored discount %s: %w", id, err)
	}
	return d, ok && d.coupon != nil, nil
}

// customerDiscounts returns the discounts stored for a customer that apply
// to the customer as a whole rather than to one subscription or invoice.
func customerDiscounts(ctx context.Context, q store.Querier, customerID string) ([]discount, error) {
	rows, err := q.QueryContext(ctx, `SELECT object FROM stripe_objects
		WHERE customer_id = $1 AND kind = $2 AND event_at > 0 AND state <> $3 ORDER BY event_at, object_id`,
		customerID, kindDiscount, stateDeleted)
	if err != nil {
		return nil, fmt.Errorf("discounts of %s: %w", customerID, err)
	}
	defer rows.Close()
	var out []discount
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("discounts of %s: %w", customerID, err)
		}
		d, ok, err := parseDiscount([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("discounts of %s: %w", customerID, err)
		}
		if ok && d.coupon != nil && d.subscription == "" && d.item == "" && d.invoice == "" {
			out = append(out, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("discounts of %s: %w", customerID, err)
	}
	return out, nil
}
