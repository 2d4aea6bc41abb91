package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Server is Kizuna's HTTP handler: every route behind the common middleware.
type Server struct {
	db      *store.DB
	log     *slog.Logger
	auth    *basicAuth
	mux     *http.ServeMux
	handler http.Handler
}

// New returns the handler serving db, logging requests and errors to log.
func New(db *store.DB, log *slog.Logger) *Server {
	s := &Server{db: db, log: log, auth: newBasicAuth(db), mux: http.NewServeMux()}
	s.routes()
	s.handler = logRequests(log, securityHeaders(s.recoverPanics(http.HandlerFunc(s.route))))
	return s
}

// routes registers every endpoint. A GET pattern also answers HEAD, and the
// mux answers 405 with an Allow header for a known path with another method.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)

	s.mux.Handle("GET /api/v1/accounts", s.authed(s.listAccounts))
	s.mux.Handle("GET /api/v1/accounts/{account_id}", s.authed(s.getAccount))
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

// authed wraps an API handler: it requires credentials, and keeps the
// customer data in the response out of shared caches.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !s.authenticate(w, r) {
			return
		}
		h(w, r)
	})
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
