// Package web is Kizuna's HTTP server: the JSON API under /api/v1 (huma,
// with its OpenAPI 3.1 document), sign-in sessions, the liveness and
// readiness probes, Prometheus metrics, and the middleware every response
// passes through (request logging and metrics, panic recovery, security
// headers, cross-origin protection).
//
// Routes are registered in one place ([Server.routes]); each resource's
// handlers live in their own file (accounts.go, tickets.go, ...), and what
// the record resources share (validation, upserts, merge patches, bulk
// calls, the audit log) in resource.go. Who may call what is in access.go.
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Server limits. Each operation bounds its request body (api.go); the CSV
// upload, which may take minutes, extends its own deadlines.
const (
	// ReadHeaderTimeout bounds how long a client may dribble its headers
	// (Slowloris); ReadTimeout the whole request including its body.
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	// WriteTimeout leaves room for the slowest page of 1000 accounts on a busy database.
	writeTimeout   = 60 * time.Second
	idleTimeout    = 120 * time.Second
	maxHeaderBytes = 64 << 10
	// ShutdownTimeout is how long in-flight requests may take to finish
	// after SIGINT or SIGTERM; less than the 30 s most supervisors wait
	// before they kill.
	shutdownTimeout = 20 * time.Second
)

// Run serves db on addr until ctx is cancelled, then shuts down gracefully,
// with the options the environment sets ([OptionsFromEnv]). It logs to log
// with log/slog (text): the URL it listens on, one line per request, and
// errors.
func Run(ctx context.Context, db *store.DB, addr string, log io.Writer) error {
	opts, err := OptionsFromEnv()
	if err != nil {
		return err
	}
	return RunWith(ctx, db, addr, log, opts)
}

// RunWith is Run with explicit options.
func RunWith(ctx context.Context, db *store.DB, addr string, log io.Writer, opts Options) error {
	logger := slog.New(slog.NewTextHandler(log, nil))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := New(db, logger, opts)
	go s.ui.Warm(ctx)
	return serve(ctx, ln, s, logger)
}

// serve serves h on ln until ctx is cancelled, then stops accepting
// connections and waits up to shutdownTimeout for in-flight requests. It
// closes ln.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// net/http reports TLS handshake failures, bad requests and the like here.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "url", listenURL(ln.Addr()))

	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", shutdownTimeout)
	// ctx is already cancelled: the drain needs its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	// Requests have finished; now drain what they handed to background writers.
	if c, ok := h.(interface{ Close(context.Context) error }); ok {
		if err := c.Close(sctx); err != nil {
			return fmt.Errorf("shut down: drain ingestion: %w", err)
		}
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	log.Info("stopped")
	return nil
}

// listenURL is the URL to print for a listening address: an unspecified
// host (":8080", "0.0.0.0:8080") becomes localhost, which a browser on the
// same machine can open.
func listenURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
