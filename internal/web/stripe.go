package web

import (
	"net/http"

	"github.com/kizuna-cs/kizuna/internal/stripehook"
)

// stripeWebhook serves POST /webhooks/stripe. Stripe authenticates with its
// signature, not with a key or a cookie, so the route sits outside the API's
// authentication; its requests carry no Origin, so cross-origin protection
// lets them through.
func (s *Server) stripeWebhook() http.Handler {
	unavailable := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusServiceUnavailable, "Stripe webhooks are not configured: set KIZUNA_STRIPE_WEBHOOK_SECRET to the endpoint's signing secret")
	})
	if s.opts.StripeWebhookSecret == "" {
		return unavailable
	}
	h, err := stripehook.New(s.db, stripehook.Config{Secret: s.opts.StripeWebhookSecret, Logger: s.log})
	if err != nil {
		s.log.Error("stripe webhooks disabled", "err", err)
		return unavailable
	}
	return h
}
