package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/web"
)

// ServeCmd runs the server.
type ServeCmd struct {
	Addr           string `name:"addr" env:"KIZUNA_ADDR" default:":8080" help:"Address to listen on, host:port (\":8080\" means every interface)."`
	CookieSecure   bool   `env:"KIZUNA_COOKIE_SECURE" help:"Mark session cookies Secure even over plain HTTP (a proxy in front terminates TLS)."`
	MetricsPublic  bool   `env:"KIZUNA_METRICS_PUBLIC" help:"Serve /metrics without credentials (for a scraper on a private network)."`
	TrustedProxies string `name:"trusted-proxies" env:"KIZUNA_TRUSTED_PROXIES" placeholder:"LIST" help:"Reverse proxies in front (comma-separated addresses or CIDR prefixes) whose X-Forwarded-For names the client, for the sign-in and survey limits."`
	JobOptions
}

// JobOptions configure the job queue of a server.
type JobOptions struct {
	RecomputeEvery  time.Duration `name:"recompute-every" env:"KIZUNA_RECOMPUTE_EVERY" default:"1h" help:"How often every account is recomputed (also once at start); 0 turns the periodic recompute off."`
	DeliverAttempts int           `name:"deliver-attempts" env:"KIZUNA_DELIVER_ATTEMPTS" default:"8" help:"Attempts of an outbound delivery (email, webhook) before it is discarded."`
}

// Run opens the database and serves it until SIGINT or SIGTERM, then lets
// in-flight requests finish. It logs to standard error.
func (c ServeCmd) Run(ctx context.Context, g *Globals) error {
	tuneGC(os.Getenv)
	proxies, err := web.ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return serveWithJobs(ctx, db, g.stderr, c.JobOptions, func(ctx context.Context) error {
		return web.RunWith(ctx, db, c.Addr, g.stderr, web.Options{
			CookieSecure: c.CookieSecure, MetricsPublic: c.MetricsPublic,
			// Only from the environment: a flag would show the secret in the process list.
			StripeWebhookSecret: os.Getenv("KIZUNA_STRIPE_WEBHOOK_SECRET"),
			TrustedProxies:      proxies,
		})
	})
}

// serveWithJobs runs the job queue around serve (the HTTP server, which
// returns once it has shut down and drained the ingestion queue): River's
// migrations, then its workers, then serve; after serve returns the queue
// inserts the accounts the last ingestion rounds changed and lets running
// jobs finish (up to 30 s, then cancels them).
// The jobs run the whole pipeline (health, segments, playbooks) and send
// the playbooks' emails and webhooks (SMTP from KIZUNA_SMTP_URL).
func serveWithJobs(ctx context.Context, db *store.DB, log io.Writer, o JobOptions, serve func(context.Context) error) error {
	if err := jobs.Migrate(ctx, db); err != nil {
		return err
	}
	every := o.RecomputeEvery
	if every == 0 {
		every = -1 // jobs.Config: 0 is the default, negative is off
	}
	send, err := notify.ConfigFromEnv()
	if err != nil {
		return err
	}
	var q *jobs.Jobs
	q, err = jobs.New(db, jobs.Config{
		// The closure runs only once the queue has started, after q is set.
		Stages: func(ctx context.Context, tx store.Querier, partial bool) ([]recompute.Stage, error) {
			return pipeline(queueDeliveries(q))(ctx, tx, partial)
		},
		Deliver: func(ctx context.Context, id string, attempt, max int) error {
			cfg := send
			cfg.MaxAttempts = max
			return notify.Deliver(ctx, db, cfg, id)
		},
		RecomputeEvery: every, DeliverMaxAttempts: o.DeliverAttempts,
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	// The queue outlives the signal: it stops after the HTTP server has drained.
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	serveErr := serve(ctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := q.Stop(sctx); err != nil && serveErr == nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return serveErr
}

// Garbage collector settings of the server unless GOGC or GOMEMLIMIT say
// otherwise. Ingestion allocates fast and keeps little (a request's calls
// live until their commit; the live heap under the ingestion benchmark is
// about 45 MB). At the default GOGC of 100 the collector took about 13% of
// the server's CPU. At 400 the heap peaked high enough that a 60 s run of
// bench/ingest.sh on SQLite reached 474 MiB of resident memory against
// issue 3's bound of 500 MB. At 200, alternating 40 s runs: 4.8–5.0 µs of CPU
// an event against 4.2–4.4 µs, and a peak RSS of 346–361 MiB against
// 437–451 MiB. The memory limit caps what the larger factor could cost on a
// bigger heap: past it the collector runs as often as it must (and at most
// half the CPU) instead of letting the heap grow.
const (
	serveGCPercent   = 200
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
