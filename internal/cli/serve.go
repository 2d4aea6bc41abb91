package cli

import (
	"context"
	"os"
	"runtime/debug"

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
	tuneGC(os.Getenv)
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

// Garbage collector settings of the server unless GOGC or GOMEMLIMIT say
// otherwise. Ingestion allocates fast and keeps little (a request's calls
// live until their commit): at the default GOGC of 100 the collector took
// about 13% of the server's CPU under the ingestion benchmark; at 400 the
// heap peaks some 25 MB higher (bench/ingest.sh, 30.5 → 26.4 µs of CPU an
// event, 166 → 191 MB RSS). The memory limit caps what the larger factor
// could cost on a bigger heap: past it the collector runs as often as it
// must (and at most half the CPU) instead of letting the heap grow.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 400 << 20
)

// tuneGC applies the server's collector settings where getenv finds no
// GOGC or GOMEMLIMIT of the operator's (which the runtime has applied).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
