package stripehook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/stripehook"
)

const secret = "whsec_kizuna_test_5f0c2e7a9b"

// Times the fixtures use.
var (
	t0        = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)  // the subscriptions start
	priceAt   = time.Date(2025, 2, 15, 0, 0, 0, 0, time.UTC) // subscription_updated_price_change
	deletedAt = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC) // subscription_deleted
	trialEnd  = time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC) // subscription_created_trialing
	discAt    = time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC) // discount_created
	discEnd   = time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC) // its end (3 months)
	failedAt  = time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)  // invoice_payment_failed
	paidAt    = time.Date(2025, 2, 4, 0, 0, 0, 0, time.UTC)  // invoice_paid
	discSubAt = discAt.Add(time.Second)                      // subscription_updated_discount
	later     = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)  // after everything
)

func newHandler(t *testing.T, db *store.DB) *stripehook.Handler {
	t.Helper()
	h, err := stripehook.New(db, stripehook.Config{Secret: secret, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign returns a Stripe-Signature header for payload signed with secret at ts.
func sign(payload []byte, secret string, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: ts}).Header
}

func post(h http.Handler, payload []byte, signature string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(payload))
	r.Header.Set("Content-Type", "application/json")
	if signature != "" {
		r.Header.Set("Stripe-Signature", signature)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// deliver posts a fixture signed as Stripe signs it and returns the result
// the handler reports, failing unless the answer is 200.
func deliver(t *testing.T, h http.Handler, name string) string {
	t.Helper()
	w := post(h, fixture(t, name), sign(fixture(t, name), secret, time.Now()))
	if w.Code != http.StatusOK {
		t.Fatalf("%s: status %d, body %s", name, w.Code, w.Body)
	}
	var body struct{ Result string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: %v in %s", name, err, w.Body)
	}
	return body.Result
}

func deliverAll(t *testing.T, h http.Handler, want string, names ...string) {
	t.Helper()
	for _, n := range names {
		if got := deliver(t, h, n); got != want {
			t.Fatalf("%s: result %q, want %q", n, got, want)
		}
	}
}

// dump renders every row the webhooks can touch, updated_at included, so
// that two dumps are equal only when nothing changed at all.
func dump(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT account_id, name, signup_at, owner_email, recorded_at, updated_at FROM accounts ORDER BY account_id`,
		`SELECT contact_id, account_id, email, name, role, updated_at FROM contacts ORDER BY contact_id`,
		`SELECT subscription_id, start_at, end_at, account_id, mrr_minor, currency, plan, product, quantity, updated_at FROM subscription_periods ORDER BY subscription_id, start_at`,
		`SELECT account_id, invoice_id, kind, amount_minor, currency, at, recorded_at FROM payment_events ORDER BY invoice_id, kind, at`,
		`SELECT event_id, type, received_at FROM stripe_events ORDER BY event_id`,
		`SELECT object_id, kind, customer_id, account_id, event_at, event_rank, state, object, updated_at FROM stripe_objects ORDER BY object_id`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = string(bs)
				}
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// period is what the tests check of a billing.Period.
type period struct {
	account    string
	start, end time.Time // end zero: open
	mrr        int64
	currency   string
}

func (p period) String() string {
	end := "open"
	if !p.end.IsZero() {
		end = p.end.Format(time.RFC3339)
	}
	return fmt.Sprintf("{%s %s–%s %d %s}", p.account, p.start.Format(time.RFC3339), end, p.mrr, p.currency)
}

// periodsOf returns a subscription's periods, checking on the way that they
// do not overlap.
func periodsOf(t *testing.T, db *store.DB, accountID, subID string) []period {
	t.Helper()
	all, err := billing.Periods(context.Background(), db, accountID)
	if err != nil {
		t.Fatal(err)
	}
	var out []period
	for _, p := range all {
		if p.SubscriptionID != subID {
			continue
		}
		q := period{account: p.AccountID, start: p.Start, mrr: p.MRRMinor, currency: p.Currency}
		if p.End != nil {
			q.end = *p.End
		}
		if n := len(out); n > 0 && (out[n-1].end.IsZero() || out[n-1].end.After(q.start)) {
			t.Errorf("%s: periods %v and %v overlap", subID, out[n-1], q)
		}
		out = append(out, q)
	}
	return out
}

func checkPeriods(t *testing.T, db *store.DB, accountID, subID string, want ...period) {
	t.Helper()
	got := periodsOf(t, db, accountID, subID)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s periods:\n got %v\nwant %v", subID, got, want)
	}
}

func TestSignatureRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHandler(t, db)
		payload := fixture(t, "customer_created.json")
		before := dump(t, db)
		tampered := bytes.Replace(payload, []byte("Acme Corp"), []byte("Evil Corp"), 1)
		for _, c := range []struct {
			name, header string
			body         []byte
			detail       string
		}{
			{"missing", "", payload, "missing Stripe-Signature"},
			{"malformed", "t=abc,v1", payload, "malformed Stripe-Signature"},
			{"wrong secret", sign(payload, "whsec_someone_else", time.Now()), payload, "no signature"},
			{"tampered body", sign(payload, secret, time.Now()), tampered, "no signature"},
			{"no v1 signature", fmt.Sprintf("t=%d,v0=abcdef", time.Now().Unix()), payload, "no signature"},
			{"expired", sign(payload, secret, time.Now().Add(-10*time.Minute)), payload, "older than 5m0s"},
			{"not an event", sign([]byte(`{"object":"customer"}`), secret, time.Now()), []byte(`{"object":"customer"}`), "not a Stripe event"},
			{"not JSON", sign([]byte(`<xml/>`), secret, time.Now()), []byte(`<xml/>`), "not a Stripe event"},
		} {
			w := post(h, c.body, c.header)
			if w.Code != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", c.name, w.Code)
				continue
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: Content-Type %q", c.name, ct)
			}
			var p struct {
				Title  string
				Status int
				Detail string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != 400 || p.Title != "Bad Request" || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("%s: problem %+v (%v), want a detail with %q", c.name, p, err, c.detail)
			}
		}
		if after := dump(t, db); after != before {
			t.Errorf("refused requests stored something:\n%s", after)
		}
	})
}

func TestMethodAndSize(t *testing.T) {
	db := storetest.SQLite(t)
	h := newHandler(t, db)
	r := httptest.NewRequest(http.MethodGet, "/webhooks/stripe", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("GET: %d, Allow %q, %q", w.Code, w.Header().Get("Allow"), w.Header().Get("Content-Type"))
	}
	big := append(append([]byte(`{"object":"event","pad":"`), bytes.Repeat([]byte("x"), stripehook.MaxBodyBytes)...), `"}`...)
	if w := post(h, big, sign(big, secret, time.Now())); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", w.Code)
	}
	// Without a Content-Length the limit holds while reading.
	r = httptest.NewRequest(http.MethodPost, "/webhooks/stripe", io.MultiReader(bytes.NewReader(big)))
	r.ContentLength = -1
	r.Header.Set("Stripe-Signature", sign(big, secret, time.Now()))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized streamed body: status %d, want 413", w.Code)
	}
	if _, err := stripehook.New(db, stripehook.Config{}); err == nil {
		t.Error("New without a secret succeeded")
	}
}

func TestCustomer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHandler(t, db)
		deliverAll(t, h, "applied", "customer_created.json")
		a, err := account.Get(ctx, db, "cus_RkAcme00000001")
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Acme Corp" || a.SignupAt == nil || !a.SignupAt.Equal(time.Date(2024, 12, 31, 23, 50, 0, 0, time.UTC)) {
			t.Errorf("account = %+v", a)
		}
		cs, err := account.Contacts(ctx, db, a.ID)
		if err != nil || len(cs) != 1 || cs[0].ID != "cus_RkAcme00000001" || cs[0].Email != "billing@acme.example" || cs[0].Role != "billing" {
			t.Errorf("contacts = %+v, %v", cs, err)
		}

		// A person assigns an owner; Stripe's update renames, and keeps the owner.
		a.OwnerEmail, a.Attributes = "csm@kizuna.example", nil
		if err := account.Upsert(ctx, db, a); err != nil {
			t.Fatal(err)
		}
		deliverAll(t, h, "applied", "customer_updated.json")
		if a, err = account.Get(ctx, db, a.ID); err != nil || a.Name != "Acme Corporation" || a.OwnerEmail != "csm@kizuna.example" {
			t.Errorf("after customer.updated: %+v, %v", a, err)
		}

		// kizuna_account_id files the customer under that account.
		deliverAll(t, h, "applied", "customer_created_mapped.json")
		if a, err := account.Get(ctx, db, "acc_globex"); err != nil || a.Name != "Globex" {
			t.Errorf("mapped account: %+v, %v", a, err)
		}
		if _, err := account.Get(ctx, db, "cus_RkGlobex0000002"); err == nil {
			t.Error("a mapped customer also got an account of its own")
		}
	})
}

func TestCustomerOutOfOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHandler(t, db)
		deliverAll(t, h, "applied", "customer_updated.json")
		deliverAll(t, h, "stale", "customer_created.json")
		if a, err := account.Get(context.Background(), db, "cus_RkAcme00000001"); err != nil || a.Name != "Acme Corporation" {
			t.Errorf("an older customer.created overwrote the newer name: %+v, %v", a, err)
		}
	})
}

func TestSubscriptionMRR(t *testing.T) {
	const acme = "cus_RkAcme00000001"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHandler(t, db)
		deliverAll(t, h, "applied", "customer_created.json",
			"subscription_created_monthly.json", "subscription_created_yearly.json", "subscription_created_jpy.json",
			"subscription_created_multi_item.json", "subscription_created_trialing.json",
			// An endpoint on API version 2024-06-20, with a 20 % coupon; its
			// customer is not known yet.
			"subscription_created_coupon_legacy.json")
		// 2 × 49.00 USD a month.
		checkPeriods(t, db, acme, "sub_1RkMonthlyUSD01", period{acme, t0, time.Time{}, 9800, "USD"})
		// 1,200.00 EUR a year is 100.00 EUR a month.
		checkPeriods(t, db, acme, "sub_1RkYearlyEUR001", period{acme, t0, time.Time{}, 10000, "EUR"})
		// 3 × 5,000 JPY: the yen has no minor unit.
		checkPeriods(t, db, acme, "sub_1RkMonthlyJPY01", period{acme, t0, time.Time{}, 15000, "JPY"})
		// Every 3 months: 300.00 base + 5 × 15.00 seats = 375.00, so 125.00 a month.
		checkPeriods(t, db, acme, "sub_1RkMultiItem001", period{acme, t0, time.Time{}, 12500, "USD"})
		// No revenue during the 14-day trial, 49.00 from its end.
		checkPeriods(t, db, acme, "sub_1RkTrialing0001",
			period{acme, t0, trialEnd, 0, "USD"}, period{acme, trialEnd, time.Time{}, 4900, "USD"})
		// 20 % off 98.00.
		const globex = "cus_RkGlobex0000002"
		checkPeriods(t, db, globex, "sub_1RkCoupon20pct1", period{globex, t0, time.Time{}, 7840, "USD"})

		ps, err := billing.Periods(context.Background(), db, acme)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			switch p.SubscriptionID {
			case "sub_1RkMonthlyUSD01":
				if p.Plan != "pro_monthly" || p.Product != "prod_RkKizunaPro" || p.Quantity == nil || *p.Quantity != 2 {
					t.Errorf("monthly: plan %q, product %q, quantity %v", p.Plan, p.Product, p.Quantity)
				}
			case "sub_1RkMultiItem001":
				if p.Plan != "Base quarterly + Seat quarterly" || p.Product != "prod_RkKizunaBase,prod_RkKizunaSeat" || p.Quantity != nil {
					t.Errorf("multi-item: plan %q, product %q, quantity %v", p.Plan, p.Product, p.Quantity)
				}
			}
		}

		// The customer's event names its Kizuna account: its subscription follows.
		deliverAll(t, h, "applied", "customer_created_mapped.json")
		checkPeriods(t, db, "acc_globex", "sub_1RkCoupon20pct1", period{"acc_globex", t0, time.Time{}, 7840, "USD"})
		if got := periodsOf(t, db, globex, "sub_1RkCoupon20pct1"); len(got) != 0 {
			t.Errorf("periods left under the customer id: %v", got)
		}
	})
}

func TestPriceChangeAndCancel(t *testing.T) {
	const acme = "cus_RkAcme00000001"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHandler(t, db)
		deliverAll(t, h, "applied", "subscription_created_monthly.json", "subscription_updated_price_change.json")
		// The price change closes the open period at the event's time and
		// opens the new one there: adjacent, no overlap.
		checkPeriods(t, db, acme, "sub_1RkMonthlyUSD01",
			period{acme, t0, priceAt, 9800, "USD"}, period{acme, priceAt, time.Time{}, 19800, "USD"})

		deliverAll(t, h, "applied", "subscription_deleted.json")
		checkPeriods(t, db, acme, "sub_1RkMonthlyUSD01",
			period{acme, t0, priceAt, 9800, "USD"}, period{acme, priceAt, deletedAt, 19800, "USD"})
		mrr, err := billing.CurrentMRR(context.Background(), db, []string{acme}, later)
		if err != nil || len(mrr) != 0 {
			t.Errorf("MRR after the cancellation = %v, %v; want none", mrr, err)
		}
	})
}

func TestSubscriptionOutOfOrder(t *testing.T) {
	const acme = "cus_RkAcme00000001"
	// Subtests of their own: storetest.Each twice in one test would name two
	// SQLite subtests alike ("sqlite", "sqlite#01").
	t.Run("created after updated", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			h := newHandler(t, db)
			// The update arrives first: it is all Kizuna knows, from the start.
			deliverAll(t, h, "applied", "subscription_updated_price_change.json")
			// The creation, older, must not bring the old price back.
			deliverAll(t, h, "stale", "subscription_created_monthly.json")
			checkPeriods(t, db, acme, "sub_1RkMonthlyUSD01", period{acme, t0, time.Time{}, 19800, "USD"})
		})
	})
	t.Run("updated after deleted", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			h := newHandler(t, db)
			deliverAll(t, h, "applied", "subscription_created_monthly.json", "subscription_deleted.json")
			// An update from before the cancellation shows the subscription
			// alive; a canceled subscription never comes back.
			deliverAll(t, h, "stale", "subscription_updated_price_change.json")
			checkPeriods(t, db, acme, "sub_1RkMonthlyUSD01", period{acme, t0, deletedAt, 9800, "USD"})
		})
	})
}

func TestDiscountByID(t *testing.T) {
	const acme = "cus_RkAcme00000001"
	// 98.00 − 10.00 for three months from the discount's start, counted
	// from when Kizuna has learnt both halves: the discount's coupon
	// (customer.discount.created) and that the subscription has it.
	for _, c := range []struct {
		name  string
		order []string
		from  time.Time
	}{
		{"discount last", []string{"subscription_created_monthly.json", "subscription_updated_discount.json", "discount_created.json"}, discAt},
		{"discount first", []string{"subscription_created_monthly.json", "discount_created.json", "subscription_updated_discount.json"}, discSubAt},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				h := newHandler(t, db)
				deliverAll(t, h, "applied", c.order...)
				checkPeriods(t, db, acme, "sub_1RkMonthlyUSD01",
					period{acme, t0, c.from, 9800, "USD"}, period{acme, c.from, discEnd, 8800, "USD"}, period{acme, discEnd, time.Time{}, 9800, "USD"})
			})
		})
	}
}

func TestInvoices(t *testing.T) {
	const acme = "cus_RkAcme00000001"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHandler(t, db)
		// No customer event yet: the invoice names the customer.
		deliverAll(t, h, "applied", "invoice_payment_failed.json")
		if a, err := account.Get(ctx, db, acme); err != nil || a.Name != "Acme Corp" {
			t.Errorf("account from the invoice: %+v, %v", a, err)
		}
		n, err := billing.CountPaymentFailures(ctx, db, acme, failedAt.AddDate(0, 0, -30), failedAt.Add(time.Second))
		if err != nil || n != 1 {
			t.Errorf("payment failures = %d, %v; want 1", n, err)
		}
		deliverAll(t, h, "applied", "invoice_paid.json")
		ps, err := billing.Payments(ctx, db, acme, "", t0, later)
		if err != nil {
			t.Fatal(err)
		}
		want := []billing.Payment{
			{AccountID: acme, InvoiceID: "in_1RkFebruary00001", Kind: billing.PaymentFailed, AmountMinor: 9800, Currency: "USD", At: failedAt},
			{AccountID: acme, InvoiceID: "in_1RkFebruary00001", Kind: billing.PaymentPaid, AmountMinor: 9800, Currency: "USD", At: paidAt},
		}
		if fmt.Sprint(ps) != fmt.Sprint(want) {
			t.Errorf("payments:\n got %+v\nwant %+v", ps, want)
		}
	})
}

func TestReplayAndUnknown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHandler(t, db)
		all := []string{"customer_created.json", "subscription_created_monthly.json", "discount_created.json",
			"subscription_updated_discount.json", "invoice_payment_failed.json", "invoice_paid.json",
			"subscription_updated_price_change.json", "subscription_deleted.json"}
		deliverAll(t, h, "applied", all...)
		before := dump(t, db)
		if n := count(t, db, "stripe_events"); n != len(all) {
			t.Errorf("stripe_events has %d rows, want %d", n, len(all))
		}
		// updated_at has a resolution of one second: let a second pass so
		// that a rewrite would show.
		time.Sleep(1100 * time.Millisecond)
		deliverAll(t, h, "duplicate", all...)
		if after := dump(t, db); after != before {
			t.Errorf("a replay changed the database:\nbefore\n%s\nafter\n%s", before, after)
		}

		deliverAll(t, h, "ignored", "charge_succeeded.json")
		if after := dump(t, db); after != before {
			t.Errorf("an unknown event type changed the database:\n%s", after)
		}
	})
}

func TestConcurrentDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h := newHandler(t, db)
		// Stripe may deliver one event twice at once, and several events
		// of one customer in parallel.
		names := []string{"subscription_created_monthly.json", "subscription_created_monthly.json", "subscription_created_monthly.json",
			"subscription_created_yearly.json", "subscription_created_jpy.json", "subscription_created_multi_item.json",
			"subscription_created_trialing.json", "invoice_payment_failed.json", "customer_created.json"}
		results := make(chan string, len(names))
		for _, n := range names {
			go func() {
				w := post(h, fixture(t, n), sign(fixture(t, n), secret, time.Now()))
				var body struct{ Result string }
				json.Unmarshal(w.Body.Bytes(), &body)
				results <- fmt.Sprintf("%s %d %s", n, w.Code, body.Result)
			}()
		}
		got := map[string]int{}
		for range names {
			got[<-results]++
		}
		want := map[string]int{
			"subscription_created_monthly.json 200 applied": 1, "subscription_created_monthly.json 200 duplicate": 2,
			"subscription_created_yearly.json 200 applied": 1, "subscription_created_jpy.json 200 applied": 1,
			"subscription_created_multi_item.json 200 applied": 1, "subscription_created_trialing.json 200 applied": 1,
			"invoice_payment_failed.json 200 applied": 1, "customer_created.json 200 applied": 1,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("results:\n got %v\nwant %v", got, want)
		}
		if n := count(t, db, "subscription_periods"); n != 6 {
			t.Errorf("%d periods, want 6", n)
		}
		if n := count(t, db, "accounts"); n != 1 {
			t.Errorf("%d accounts, want 1", n)
		}
	})
}
