package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/telemetry"
	"github.com/kizuna-cs/kizuna/internal/web/ui"
)

// Options configure a [Server].
type Options struct {
	// CookieSecure marks the session cookie Secure even when a request
	// came over plain HTTP: set it when a proxy in front terminates TLS
	// (KIZUNA_COOKIE_SECURE=true). Requests that arrive over TLS always get
	// a Secure cookie.
	CookieSecure bool
	// MetricsPublic serves /metrics without credentials
	// (KIZUNA_METRICS_PUBLIC=true), for a scraper on a private network.
	// Otherwise /metrics takes the credentials the API takes (a read key).
	MetricsPublic bool
	// Metrics receives the server's metrics; nil makes new ones.
	Metrics *telemetry.Metrics
	// StripeWebhookSecret is the signing secret of the Stripe endpoint
	// (KIZUNA_STRIPE_WEBHOOK_SECRET); without it POST /webhooks/stripe
	// answers 503 so that Stripe retries and its dashboard shows why.
	StripeWebhookSecret string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (KIZUNA_TRUSTED_PROXIES): the sign-in and survey limits
	// then count each client apart instead of every client as the proxy.
	TrustedProxies []netip.Prefix
}

// OptionsFromEnv reads KIZUNA_COOKIE_SECURE, KIZUNA_METRICS_PUBLIC,
// KIZUNA_STRIPE_WEBHOOK_SECRET and KIZUNA_TRUSTED_PROXIES.
func OptionsFromEnv() (Options, error) {
	o := Options{StripeWebhookSecret: os.Getenv("KIZUNA_STRIPE_WEBHOOK_SECRET")}
	var err error
	if o.TrustedProxies, err = ParseTrustedProxies(os.Getenv("KIZUNA_TRUSTED_PROXIES")); err != nil {
		return o, fmt.Errorf("KIZUNA_TRUSTED_PROXIES: %w", err)
	}
	for name, dst := range map[string]*bool{"KIZUNA_COOKIE_SECURE": &o.CookieSecure, "KIZUNA_METRICS_PUBLIC": &o.MetricsPublic} {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("%s=%q: want true or false", name, v)
		}
		*dst = b
	}
	return o, nil
}

// Server is Kizuna's HTTP handler: every route behind the common middleware.
type Server struct {
	db      *store.DB
	log     *slog.Logger
	opts    Options
	auth    *basicAuth
	metrics *telemetry.Metrics
	mux     *http.ServeMux
	api     huma.API
	handler http.Handler
	// csvLimit bounds a CSV upload (maxCSVBody; tests lower it).
	csvLimit int64
	// ingest is the group-commit writer behind the Segment endpoints.
	ingest *ingest.Queue
	// ui serves the web pages.
	ui *ui.UI
}

// New returns the handler serving db, logging requests and errors to log.
func New(db *store.DB, log *slog.Logger, opts Options) *Server {
	s := &Server{db: db, log: log, opts: opts, auth: newBasicAuth(db), metrics: opts.Metrics, mux: http.NewServeMux(),
		csvLimit: maxCSVBody}
	if s.metrics == nil {
		s.metrics = telemetry.New()
	}
	// Two servers in one process (tests) would register the pool's
	// statistics twice; the first one's are kept.
	s.metrics.Register(collectors.NewDBStatsCollector(db.DB, "kizuna"))
	s.api = newAPI(s.mux)
	s.api.UseMiddleware(s.authorize(s.api))
	pages, err := ui.New(db, log)
	if err != nil {
		// The templates are embedded: a parse error is a bug the tests catch.
		panic(err)
	}
	s.ui = pages
	s.routes()

	// Cross-origin protection refuses state-changing requests that a
	// browser sends from another site (Sec-Fetch-Site, or an Origin that is
	// not this host), which is what makes the session cookie safe to accept;
	// scripts and API clients send neither header and pass.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusForbidden, "cross-origin request refused: a page on another site may not change data here")
	}))
	s.handler = s.observe(compress(securityHeaders(s.recoverPanics(cop.Handler(http.HandlerFunc(s.route))))))
	return s
}

// routes registers every endpoint. A GET pattern also answers HEAD, and the
// mux answers 405 with an Allow header for a known path with another method.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.Handle("GET "+apiPrefix+"/openapi.json", serveOpenAPI(s.api))
	s.mux.Handle("POST /webhooks/stripe", s.stripeWebhook())

	registerAccounts(s, s.api)
	registerContacts(s, s.api)
	registerPeriods(s, s.api)
	registerTickets(s, s.api)
	registerResponses(s, s.api)
	registerNotes(s, s.api)
	registerHandoffs(s, s.api)
	registerImports(s, s.api)
	registerAudit(s, s.api)
	registerSaaSMetrics(s, s.api)
	registerSnapshots(s, s.api)
	registerPlaybooks(s, s.api) // with tasks and deliveries
	registerHealth(s, s.api)
	registerJobs(s, s.api)
	registerAPIKeys(s, s.api)
	registerUsers(s, s.api)
	registerSegments(s, s.api)
	registerChurn(s, s.api)
	registerCoverage(s, s.api)
	registerCLV(s, s.api)
	registerLifecycle(s, s.api)
	registerSuccessPlans(s, s.api) // with the customer's shared page, GET /share/{token}
	registerProspects(s, s.api)
	registerPrograms(s, s.api)
	registerGoals(s, s.api)
	registerOnboarding(s, s.api)
	registerSurveys(s, s.api) // with the respondent's pages, /s/{token}
	registerFeedback(s, s.api)
	s.ingest = s.registerTracking()
	s.ui.Register(s.mux)
}

// Close writes what the ingestion queue has accepted and stops its writer.
// Call it after the HTTP server has shut down, so no request adds more.
func (s *Server) Close(ctx context.Context) error {
	return s.ingest.Close(ctx)
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// route dispatches r on the mux. The mux answers a path or method it has no
// route for in text/plain, but the API promises problem JSON for every
// error, so under /api/ those answers are rewritten.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if _, pattern := s.mux.Handler(r); pattern == "" {
			w = &problemWriter{ResponseWriter: w, method: r.Method}
		}
	}
	s.mux.ServeHTTP(w, r)
}

// internalDetail is all a client learns of a server error.
const internalDetail = "internal error; the server log has the details"

// internal logs err and returns the 500 an operation answers, without its
// details, which may name tables, hosts or data the client should not see.
func (s *Server) internal(ctx context.Context, err error) error {
	level := slog.LevelError
	if ctx.Err() != nil {
		// The client went away or the server is stopping; not a fault.
		level = slog.LevelInfo
	}
	s.log.Log(ctx, level, "request failed", "err", err)
	return huma.Error500InternalServerError(internalDetail)
}

// logError logs a server error met while handling r.
func (s *Server) logError(r *http.Request, err error) {
	s.log.Error("request failed", "method", r.Method, "path", loggedPath(r), "err", err)
}

// problemWriter replaces the mux's plain-text 404 and 405 bodies with
// problem JSON, keeping the headers the mux set (Allow).
type problemWriter struct {
	http.ResponseWriter
	method   string
	replaced bool
}

func (w *problemWriter) WriteHeader(code int) {
	switch code {
	case http.StatusNotFound:
		w.replaced = true
		writeProblem(w.ResponseWriter, code, "no such endpoint")
	case http.StatusMethodNotAllowed:
		w.replaced = true
		writeProblem(w.ResponseWriter, code, "method "+w.method+" is not allowed here; allowed: "+w.Header().Get("Allow"))
	default:
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *problemWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil // the mux's text body, already replaced
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *problemWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
