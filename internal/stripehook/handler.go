// Package stripehook receives Stripe webhooks: it checks each event's
// signature, and turns customers into accounts, subscriptions into
// subscription periods with their MRR, and invoice payments and failed
// payment attempts into payment events for health.
//
// Delivery. Stripe delivers each event at least once, retries any answer
// that is not 2xx for days, and keeps no order between events. So every
// event is applied in one transaction, and answered 200 only after it
// commits; its id is stored with it, so a redelivery is answered 200 without
// effect; an event older than the state already applied to its object is
// skipped (by the event's created time and the object's state; see
// onSubscription); and an event type Kizuna does not handle is
// answered 200 and ignored, since a 4xx would only make Stripe retry it.
//
// Accounts. A Stripe customer becomes the account whose id is the
// customer's metadata["kizuna_account_id"] when set (to attach Stripe
// billing to an account that already exists in Kizuna, say from a CSV
// import or a CRM), else the Stripe customer id (cus_…). The customer's
// name names the account (for an existing account named by
// kizuna_account_id, only when it has no name yet, so Stripe does not
// overwrite a name Kizuna owns); its email becomes a contact with the
// customer id as contact id and role "billing". A subscription or invoice
// whose customer has not been seen yet is filed under the customer id; when
// the customer's event later names another account, its subscriptions'
// periods, its payment events and its contact move there.
//
// MRR. A subscription's MRR is the sum over its items of quantity × unit
// price (tiered and transformed quantities priced as Stripe does), turned
// into a monthly amount: an interval of n months is divided by n, a year by
// 12 n, a week multiplied by 52/(12 n), a day by 365/(12 n). Discounts then
// apply: item discounts before subscription discounts, in order; a
// percentage scales, a fixed amount is taken off each invoice and so is
// normalised by the same interval; coupons limited to some products touch
// only those items; a "once" coupon is a one-off and leaves MRR alone, a
// "repeating" one applies until it ends, a "forever" one until removed. A
// customer-wide discount applies to subscriptions that have none of their
// own. Current API versions name a subscription's discounts by id only, so
// their coupons come from customer.discount.* events, which Kizuna stores;
// a discount counts once both halves have arrived, in either order. The
// currency is the prices'. A trialing subscription has MRR 0 until
// its trial ends; incomplete, expired and paused ones have MRR 0. The
// subscription ends at ended_at, else cancel_at, else at the current period's
// end when cancel_at_period_end, else (canceled without those) at
// canceled_at. Amounts are exact until the monthly total, which is rounded
// to the currency's minor unit as Kizuna counts it (Stripe's minor units
// differ for a few currencies, such as ISK).
package stripehook

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// MaxBodyBytes is the largest request body accepted (413 beyond). Stripe's
// events are a few kilobytes; 1 MB leaves room for large invoices.
const MaxBodyBytes = 1 << 20

// Config configures a [Handler].
type Config struct {
	// Secret is the webhook endpoint's signing secret (whsec_…), from
	// KIZUNA_STRIPE_WEBHOOK_SECRET.
	Secret string
	// Tolerance is how old a signature may be; 0 means stripe-go's default,
	// five minutes. It is what makes a captured request useless later.
	Tolerance time.Duration
	// Logger receives a line per event; nil means slog.Default().
	Logger *slog.Logger
}

// Handler is the http.Handler of POST /webhooks/stripe.
type Handler struct {
	db        *store.DB
	secret    string
	tolerance time.Duration
	log       *slog.Logger
	events    map[stripe.EventType]eventFunc
}

// New returns the webhook handler writing into db.
func New(db *store.DB, cfg Config) (*Handler, error) {
	if db == nil {
		return nil, errors.New("stripe webhooks: no database")
	}
	if cfg.Secret == "" {
		return nil, errors.New("stripe webhooks: no signing secret (KIZUNA_STRIPE_WEBHOOK_SECRET)")
	}
	if cfg.Tolerance < 0 {
		return nil, fmt.Errorf("stripe webhooks: negative signature tolerance %s", cfg.Tolerance)
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = webhook.DefaultTolerance
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{db: db, secret: cfg.Secret, tolerance: cfg.Tolerance, log: cfg.Logger}
	h.events = h.handlers()
	return h, nil
}

// Results of handling an event, reported in the response body and the log.
const (
	resultApplied   = "applied"   // written
	resultDuplicate = "duplicate" // this event id was handled before
	resultStale     = "stale"     // older than the state already applied; recorded, no effect
	resultIgnored   = "ignored"   // a type Kizuna does not handle
)

// stateDeleted marks a removed discount in stripe_objects.state.
const stateDeleted = "deleted"

// eventFunc applies one event inside the transaction and returns a result.
type eventFunc func(ctx context.Context, tx *sql.Tx, ev *stripe.Event) (string, error)

// handlers maps the event types Kizuna handles to their functions.
func (h *Handler) handlers() map[stripe.EventType]eventFunc {
	return map[stripe.EventType]eventFunc{
		stripe.EventTypeCustomerCreated:             h.onCustomer(rankCreated),
		stripe.EventTypeCustomerUpdated:             h.onCustomer(rankUpdated),
		stripe.EventTypeCustomerSubscriptionCreated: h.onSubscription(rankCreated),
		stripe.EventTypeCustomerSubscriptionUpdated: h.onSubscription(rankUpdated),
		stripe.EventTypeCustomerSubscriptionDeleted: h.onSubscription(rankDeleted),
		stripe.EventTypeCustomerDiscountCreated:     h.onDiscount(rankCreated),
		stripe.EventTypeCustomerDiscountUpdated:     h.onDiscount(rankUpdated),
		stripe.EventTypeCustomerDiscountDeleted:     h.onDiscount(rankDeleted),
		stripe.EventTypeInvoicePaid:                 h.onInvoice(billing.PaymentPaid),
		stripe.EventTypeInvoicePaymentFailed:        h.onInvoice(billing.PaymentFailed),
	}
}

// payloadError is a signed event whose content Kizuna cannot use; it is
// answered 400, which shows in Stripe's dashboard.
type payloadError struct{ err error }

func (e payloadError) Error() string { return e.err.Error() }
func (e payloadError) Unwrap() error { return e.err }

func badPayload(err error) error { return payloadError{err} }

// ServeHTTP checks the request and its signature and applies the event.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeProblem(w, http.StatusMethodNotAllowed, "Stripe webhooks are POSTed")
		return
	}
	if r.ContentLength > MaxBodyBytes {
		writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes exceeds the limit of %d", r.ContentLength, MaxBodyBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds the limit of %d bytes", MaxBodyBytes))
			return
		}
		writeProblem(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	// The API version Stripe renders an event in is the endpoint's (or the
	// account's default), chosen in Stripe, not here; stripe-go refuses any
	// other version than its own by default. Refusing would answer 400 to
	// every event of such an endpoint, which Stripe retries for three days
	// and then drops: silent data loss. Kizuna reads a few long-stable
	// fields, and reads the ones that moved in both places (parse.go), so it
	// accepts every version.
	ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), h.secret,
		webhook.ConstructEventOptions{Tolerance: h.tolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		writeProblem(w, http.StatusBadRequest, h.signatureDetail(err))
		return
	}
	result, err := h.apply(r.Context(), &ev)
	if err != nil {
		var bad payloadError
		if errors.As(err, &bad) {
			h.log.Warn("stripe event refused", "id", ev.ID, "type", ev.Type, "err", err)
			writeProblem(w, http.StatusBadRequest, fmt.Sprintf("event %s (%s): %v", ev.ID, ev.Type, err))
			return
		}
		level := slog.LevelError
		if r.Context().Err() != nil {
			level = slog.LevelInfo // the client went away or the server is stopping
		}
		h.log.Log(r.Context(), level, "stripe event failed", "id", ev.ID, "type", ev.Type, "err", err)
		// Stripe retries a 5xx, which is what a transient database error needs.
		writeProblem(w, http.StatusInternalServerError, "internal error; the server log has the details")
		return
	}
	h.log.Info("stripe event", "id", ev.ID, "type", ev.Type, "result", result)
	writeJSON(w, http.StatusOK, map[string]string{"id": ev.ID, "type": string(ev.Type), "result": result})
}

// signatureDetail explains why an event was refused before it was read.
func (h *Handler) signatureDetail(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "missing Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "malformed Stripe-Signature header"
	case errors.Is(err, webhook.ErrNoValidSignature):
		return "no signature in the Stripe-Signature header matches the body and the configured signing secret"
	case errors.Is(err, webhook.ErrTooOld):
		return fmt.Sprintf("signature timestamp is older than %s (a delayed or replayed request)", h.tolerance)
	}
	return "body is not a Stripe event: " + err.Error()
}

// apply writes an event and its id in one transaction.
func (h *Handler) apply(ctx context.Context, ev *stripe.Event) (string, error) {
	fn, ok := h.events[ev.Type]
	if !ok {
		return resultIgnored, nil
	}
	if ev.ID == "" || ev.Data == nil || len(ev.Data.Raw) == 0 {
		return "", badPayload(errors.New("event without id or data.object"))
	}
	var result string
	err := h.db.InTx(ctx, func(tx *sql.Tx) error {
		// On PostgreSQL a concurrent delivery of the same event waits here
		// for the first to commit (or roll back), then finds the id taken.
		res, err := tx.ExecContext(ctx, `INSERT INTO stripe_events (event_id, type, received_at) VALUES ($1, $2, $3)
			ON CONFLICT (event_id) DO NOTHING`, ev.ID, string(ev.Type), store.Now())
		if err != nil {
			return fmt.Errorf("record stripe event %s: %w", ev.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("record stripe event %s: %w", ev.ID, err)
		} else if n == 0 {
			result = resultDuplicate
			return nil
		}
		result, err = fn(ctx, tx, ev)
		return err
	})
	if err != nil {
		return "", err
	}
	return result, nil
}

// problem is an RFC 9457 error body, shaped as internal/web's.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// writeProblem answers status with an application/problem+json body whose
// detail says what was wrong with the request.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v) // a map of strings always encodes
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
