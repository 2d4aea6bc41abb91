package cli

import (
	"context"
	"os"

	"github.com/kizuna-cs/kizuna/internal/web"
)

// ServeCmd runs the server.
type ServeCmd struct {
	Addr          string `name:"addr" env:"KIZUNA_ADDR" default:":8080" help:"Address to listen on, host:port (\":8080\" means every interface)."`
	CookieSecure  bool   `env:"KIZUNA_COOKIE_SECURE" help:"Mark session cookies Secure even over plain HTTP (a proxy in front terminates TLS)."`
	MetricsPublic bool   `env:"KIZUNA_METRICS_PUBLIC" help:"Serve /metrics without credentials (for a scraper on a private network)."`
}

// Run opens the database and serves it until SIGINT or SIGTERM, then lets
// in-flight requests finish. It logs to standard error.
func (c ServeCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return web.RunWith(ctx, db, c.Addr, g.stderr, web.Options{
		CookieSecure: c.CookieSecure, MetricsPublic: c.MetricsPublic,
		// Only from the environment: a flag would show the secret in the process list.
		StripeWebhookSecret: os.Getenv("KIZUNA_STRIPE_WEBHOOK_SECRET"),
	})
}
