package stripehook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v84"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// MetadataAccountID is the Stripe customer metadata key that names the
// Kizuna account a customer belongs to.
const MetadataAccountID = "kizuna_account_id"

// onCustomer handles customer.created and customer.updated.
func (h *Handler) onCustomer(rank int) eventFunc {
	return func(ctx context.Context, tx *sql.Tx, ev *stripe.Event) (string, error) {
		var c stripe.Customer
		if err := json.Unmarshal(ev.Data.Raw, &c); err != nil {
			return "", badPayload(fmt.Errorf("customer: %w", err))
		}
		if c.ID == "" {
			return "", badPayload(errors.New("customer without id"))
		}
		o, err := lockObject(ctx, tx, c.ID, kindCustomer)
		if err != nil {
			return "", err
		}
		if o.older(ev.Created, rank) {
			return resultStale, nil
		}
		acct := c.ID
		if id := strings.TrimSpace(c.Metadata[MetadataAccountID]); id != "" {
			acct = id
		}
		if err := upsertAccount(ctx, tx, &c, acct); err != nil {
			return "", err
		}
		if err := upsertContact(ctx, tx, &c, acct, o.accountID); err != nil {
			return "", err
		}
		if o.accountID != "" && o.accountID != acct {
			if err := rehome(ctx, tx, c.ID, acct); err != nil {
				return "", err
			}
		}
		o.customerID, o.accountID, o.eventAt, o.rank, o.raw = c.ID, acct, ev.Created, rank, string(ev.Data.Raw)
		if err := saveObject(ctx, tx, o); err != nil {
			return "", err
		}
		return resultApplied, nil
	}
}

// upsertAccount creates or updates the account of customer c. It changes
// only what Stripe knows (the name and, when missing, the signup time) and
// keeps what Kizuna owns (owner, parent, attributes).
func upsertAccount(ctx context.Context, q store.Querier, c *stripe.Customer, acct string) error {
	name := firstNonEmpty(c.Name, c.BusinessName, c.IndividualName)
	a, err := account.Get(ctx, q, acct)
	if errors.Is(err, account.ErrNotFound) {
		a = account.Account{ID: acct, Name: firstNonEmpty(name, c.Email)}
		if c.Created > 0 {
			t := time.Unix(c.Created, 0).UTC()
			a.SignupAt = &t
		}
		return account.Upsert(ctx, q, a)
	}
	if err != nil {
		return err
	}
	changed := false
	// A customer filed under its own id is Stripe's record, whose name
	// Stripe owns; an account named by kizuna_account_id is Kizuna's own,
	// and only gets a name from Stripe when it has none.
	if name != "" && name != a.Name && (acct == c.ID || a.Name == "") {
		a.Name, changed = name, true
	}
	if a.SignupAt == nil && c.Created > 0 {
		t := time.Unix(c.Created, 0).UTC()
		a.SignupAt, changed = &t, true
	}
	if !changed {
		return nil
	}
	a.Attributes = nil // leave the attributes as they are
	return account.Upsert(ctx, q, a)
}

// upsertContact keeps the customer's email as the account's billing
// contact, whose id is the customer id. It keeps a role a person gave it.
// previous is the account the customer was filed under before (or "").
func upsertContact(ctx context.Context, q store.Querier, c *stripe.Customer, acct, previous string) error {
	if c.Email == "" {
		return nil
	}
	want := account.Contact{ID: c.ID, AccountID: acct, Email: c.Email, Name: firstNonEmpty(c.IndividualName, c.Name), Role: "billing"}
	for _, owner := range []string{acct, previous} {
		if owner == "" {
			continue
		}
		cs, err := account.Contacts(ctx, q, owner)
		if err != nil {
			return err
		}
		for _, have := range cs {
			if have.ID != c.ID {
				continue
			}
			want.Role = have.Role
			if have.AccountID == want.AccountID && have.Email == want.Email && have.Name == want.Name {
				return nil
			}
			return account.UpsertContact(ctx, q, want)
		}
	}
	return account.UpsertContact(ctx, q, want)
}

// rehome files everything of a customer under account to: the periods of
// its subscriptions and its payment events. (Its contact moves with
// upsertContact.) The account it was filed under before stays, emptied of
// Stripe's data; deleting accounts is for people to decide.
func rehome(ctx context.Context, tx *sql.Tx, customerID, to string) error {
	subs, err := objectsOf(ctx, tx, customerID, kindSubscription)
	if err != nil {
		return err
	}
	for _, id := range subs {
		periods, err := subscriptionPeriods(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, p := range periods {
			if p.AccountID != to {
				p.AccountID = to
				if err := billing.UpsertPeriod(ctx, tx, p); err != nil {
					return err
				}
			}
		}
	}
	invoices, err := objectsOf(ctx, tx, customerID, kindInvoice)
	if err != nil {
		return err
	}
	if _, err := billing.MovePayments(ctx, tx, invoices, to); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_objects SET account_id = $2 WHERE customer_id = $1 AND account_id <> $2`,
		customerID, to); err != nil {
		return fmt.Errorf("rehome stripe objects of %s: %w", customerID, err)
	}
	return nil
}

// customerAccount returns the account a customer's subscriptions and
// invoices are filed under, and locks the customer's row, so that all
// events of one customer are applied one at a time. A customer not seen yet
// is filed under its own id, in a new account named nameHint.
func customerAccount(ctx context.Context, q store.Querier, customerID, nameHint string) (string, error) {
	o, err := lockObject(ctx, q, customerID, kindCustomer)
	if err != nil {
		return "", err
	}
	if o.accountID == "" {
		o.customerID, o.accountID = customerID, customerID
		if err := saveObject(ctx, q, o); err != nil {
			return "", err
		}
	}
	if _, err := account.Get(ctx, q, o.accountID); errors.Is(err, account.ErrNotFound) {
		return o.accountID, account.Upsert(ctx, q, account.Account{ID: o.accountID, Name: nameHint})
	} else if err != nil {
		return "", err
	}
	return o.accountID, nil
}

// onSubscription handles customer.subscription.created, .updated and .deleted.
//
// Order. An event older than the newest one applied to the subscription
// (by the event's created time, then created < updated < deleted within one
// second) is skipped: Stripe sends no sequence number, and the created time
// is when Stripe saw the change, whatever the delivery order. The object's
// state adds what clocks cannot: a canceled or expired subscription never
// comes back, so an event showing it alive after one showing it ended must
// be older, whatever its timestamp says, and is skipped too.
func (h *Handler) onSubscription(rank int) eventFunc {
	return func(ctx context.Context, tx *sql.Tx, ev *stripe.Event) (string, error) {
		sub, err := parseSubscription(ev.Data.Raw)
		if err != nil {
			return "", badPayload(err)
		}
		acct, err := customerAccount(ctx, tx, sub.Customer.ID, "")
		if err != nil {
			return "", err
		}
		o, err := lockObject(ctx, tx, sub.ID, kindSubscription)
		if err != nil {
			return "", err
		}
		if o.older(ev.Created, rank) || o.known() && terminal(o.state) && !terminal(string(sub.Status)) {
			return resultStale, nil
		}
		existing, err := subscriptionPeriods(ctx, tx, sub.ID)
		if err != nil {
			return "", err
		}
		// The first event of a subscription tells its whole story since its
		// start; later ones change it from their own time on.
		var from *int64
		if o.known() || len(existing) > 0 {
			from = &ev.Created
		}
		if err := h.applyTimeline(ctx, tx, sub, acct, existing, from, ev.Created); err != nil {
			return "", err
		}
		o.customerID, o.accountID, o.eventAt, o.rank = sub.Customer.ID, acct, ev.Created, rank
		o.state, o.raw = string(sub.Status), string(ev.Data.Raw)
		if err := saveObject(ctx, tx, o); err != nil {
			return "", err
		}
		return resultApplied, nil
	}
}

// applyTimeline rewrites a subscription's periods from its timeline from
// the change time from on (nil: all of it). observedAt is the time of the
// event that carried sub.
func (h *Handler) applyTimeline(ctx context.Context, q store.Querier, sub *subscription, acct string, existing []billing.Period, from *int64, observedAt int64) error {
	subDiscounts, itemDiscounts, err := h.resolveDiscounts(ctx, q, sub)
	if err != nil {
		return err
	}
	tl, warnings, err := sub.timeline(subDiscounts, itemDiscounts, observedAt)
	if err != nil {
		return badPayload(err)
	}
	for _, w := range warnings {
		h.log.Warn("stripe subscription priced in part", "subscription", sub.ID, "problem", w)
	}
	// An end reported after the fact (a cancellation) is itself the change time.
	if end := sub.end(observedAt); from != nil && end != 0 && end < *from {
		from = &end
	}
	return writePeriods(ctx, q, existing, planPeriods(existing, tl, sub.ID, acct, from))
}

// resolveDiscounts completes the discounts a subscription names only by id
// (current API versions never expand them in webhooks) with those stored
// from customer.discount events, and adds the customer's own discounts when
// the subscription has none.
func (h *Handler) resolveDiscounts(ctx context.Context, q store.Querier, sub *subscription) ([]discount, map[string][]discount, error) {
	resolve := func(ds []discount) ([]discount, error) {
		var out []discount
		for _, d := range ds {
			if d.coupon == nil {
				stored, found, err := storedDiscount(ctx, q, d.id)
				if err != nil {
					return nil, err
				}
				if !found {
					h.log.Warn("stripe discount not known yet; it applies once its customer.discount event arrives",
						"subscription", sub.ID, "discount", d.id)
					continue
				}
				d = stored
			}
			out = append(out, d)
		}
		return out, nil
	}
	subDiscounts, err := resolve(sub.discounts)
	if err != nil {
		return nil, nil, err
	}
	if len(sub.discounts) == 0 {
		if subDiscounts, err = customerDiscounts(ctx, q, sub.Customer.ID); err != nil {
			return nil, nil, err
		}
	}
	itemDiscounts := map[string][]discount{}
	for item, ds := range sub.itemDiscounts {
		if itemDiscounts[item], err = resolve(ds); err != nil {
			return nil, nil, err
		}
	}
	return subDiscounts, itemDiscounts, nil
}

// onDiscount handles customer.discount.created, .updated and .deleted: it
// stores the discount, with its coupon, and re-prices the subscriptions it
// applies to from the event's time on.
func (h *Handler) onDiscount(rank int) eventFunc {
	return func(ctx context.Context, tx *sql.Tx, ev *stripe.Event) (string, error) {
		d, ok, err := parseDiscount(ev.Data.Raw)
		if err != nil {
			return "", badPayload(err)
		}
		if !ok || d.id == "" || d.customer == "" {
			return "", badPayload(errors.New("discount: id and customer are required"))
		}
		acct, err := customerAccount(ctx, tx, d.customer, "")
		if err != nil {
			return "", err
		}
		o, err := lockObject(ctx, tx, d.id, kindDiscount)
		if err != nil {
			return "", err
		}
		if o.older(ev.Created, rank) {
			return resultStale, nil
		}
		o.customerID, o.accountID, o.eventAt, o.rank, o.raw = d.customer, acct, ev.Created, rank, string(ev.Data.Raw)
		o.state = "active"
		if rank == rankDeleted {
			o.state = stateDeleted
		}
		if err := saveObject(ctx, tx, o); err != nil {
			return "", err
		}
		var subs []string
		switch {
		case d.subscription != "":
			subs = []string{d.subscription}
		case d.invoice != "":
			// A discount on one invoice is a one-off; it leaves MRR alone.
		default:
			// A customer-wide discount, or one on an item whose subscription
			// the payload does not name.
			if subs, err = objectsOf(ctx, tx, d.customer, kindSubscription); err != nil {
				return "", err
			}
		}
		for _, id := range subs {
			so, err := lockObject(ctx, tx, id, kindSubscription)
			if err != nil {
				return "", err
			}
			if !so.known() || terminal(so.state) {
				continue // not seen yet (its first event will price it whole), or over
			}
			sub, err := parseSubscription([]byte(so.raw))
			if err != nil {
				return "", fmt.Errorf("stored subscription %s: %w", id, err)
			}
			existing, err := subscriptionPeriods(ctx, tx, id)
			if err != nil {
				return "", err
			}
			from := ev.Created
			if err := h.applyTimeline(ctx, tx, sub, acct, existing, &from, so.eventAt); err != nil {
				return "", err
			}
		}
		return resultApplied, nil
	}
}

// onInvoice handles invoice.paid and invoice.payment_failed: each is one
// payment event of the customer's account. A failure is dated by the event
// (each failed attempt sends one), a payment by the invoice's paid_at.
func (h *Handler) onInvoice(kind billing.PaymentKind) eventFunc {
	return func(ctx context.Context, tx *sql.Tx, ev *stripe.Event) (string, error) {
		var inv stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
			return "", badPayload(fmt.Errorf("invoice: %w", err))
		}
		if inv.ID == "" || inv.Customer == nil || inv.Customer.ID == "" {
			return "", badPayload(errors.New("invoice: id and customer are required"))
		}
		acct, err := customerAccount(ctx, tx, inv.Customer.ID, firstNonEmpty(inv.CustomerName, inv.CustomerEmail))
		if err != nil {
			return "", err
		}
		o, err := lockObject(ctx, tx, inv.ID, kindInvoice)
		if err != nil {
			return "", err
		}
		amount, at := inv.AmountDue, ev.Created
		if kind == billing.PaymentPaid {
			amount = inv.AmountPaid
			if inv.StatusTransitions != nil && inv.StatusTransitions.PaidAt > 0 {
				at = inv.StatusTransitions.PaidAt
			}
		}
		minor, err := stripeToKizuna(amount, string(inv.Currency))
		if err != nil {
			return "", badPayload(fmt.Errorf("invoice %s: %w", inv.ID, err))
		}
		if _, err := billing.RecordPayment(ctx, tx, billing.Payment{AccountID: acct, InvoiceID: inv.ID, Kind: kind,
			AmountMinor: minor, Currency: string(inv.Currency), At: time.Unix(at, 0).UTC()}); err != nil {
			return "", err
		}
		// The row links the invoice to its customer, so its payments follow
		// the customer to another account. Invoices are not re-read, so the
		// object itself is not kept.
		o.customerID, o.accountID = inv.Customer.ID, acct
		if ev.Created >= o.eventAt {
			o.eventAt, o.rank, o.state = ev.Created, rankUpdated, string(inv.Status)
		}
		if err := saveObject(ctx, tx, o); err != nil {
			return "", err
		}
		return resultApplied, nil
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
