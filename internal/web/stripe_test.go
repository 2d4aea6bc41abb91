package web

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestStripeWebhookRoute(t *testing.T) {
	payload, err := os.ReadFile("../stripehook/testdata/customer_created.json")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_test_route"
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := newTestServer(t, db)
		hdr := http.Header{"Stripe-Signature": {signed.Header}}
		// Not configured: 503 naming the setting, nothing stored.
		w := ts.do(t, request{method: http.MethodPost, target: "/webhooks/stripe", body: string(payload), header: hdr})
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "KIZUNA_STRIPE_WEBHOOK_SECRET") {
			t.Fatalf("unconfigured: %d %s", w.Code, w.Body)
		}
		ts.Server = New(db, ts.Server.log, Options{StripeWebhookSecret: secret})
		// Configured: a signed event is applied without API credentials.
		w = ts.do(t, request{method: http.MethodPost, target: "/webhooks/stripe", body: string(payload), header: hdr})
		if w.Code != http.StatusOK {
			t.Fatalf("signed event: %d %s", w.Code, w.Body)
		}
		if _, err := account.Get(context.Background(), db, "cus_RkAcme00000001"); err != nil {
			t.Fatalf("account from customer.created: %v", err)
		}
		// A bad signature is refused.
		w = ts.do(t, request{method: http.MethodPost, target: "/webhooks/stripe", body: string(payload),
			header: http.Header{"Stripe-Signature": {"t=1,v1=deadbeef"}}})
		if w.Code != http.StatusBadRequest {
			t.Fatalf("bad signature: %d %s", w.Code, w.Body)
		}
	})
}
