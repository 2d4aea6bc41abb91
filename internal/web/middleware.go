package web

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// securityHeaders sets the headers every response carries. The policy suits
// JSON and plain text, which is all the server sends so far; HTML pages will
// set a Content-Security-Policy of their own over this one.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// observe logs one line per request (method, path, status, duration and
// size) and counts it in the metrics by route pattern. It logs neither the
// query string nor any header, so credentials never reach the log. The mux
// sets the pattern on the request it was given; nothing in between copies
// the request, so the pattern is there once the handler returns.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		// Deferred so that a request aborted by a panic is logged too.
		defer func() {
			d := time.Since(start)
			s.metrics.ObserveRequest(r.Method, r.Pattern, rec.statusCode(), d)
			level := slog.LevelInfo
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
				// Probes and scrapes come every few seconds and would drown everything else.
				level = slog.LevelDebug
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("path", loggedPath(r)),
				slog.Int("status", rec.statusCode()),
				slog.Duration("duration", d),
				slog.Int64("bytes", rec.bytes))
		}()
		next.ServeHTTP(rec, r)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 problem, so one
// bad request neither kills the connection silently nor goes unnoticed.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // a deliberate abort; net/http handles it quietly
			}
			s.log.Error("panic serving request", "method", r.Method, "path", loggedPath(r),
				"panic", v, "stack", string(debug.Stack()))
			if rec.wroteHeader() {
				// Too late for a 500: abort the connection, so the client sees a
				// truncated response rather than one that looks complete.
				panic(http.ErrAbortHandler)
			}
			writeProblem(rec, http.StatusInternalServerError, "internal error; the server log has the details")
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (r *statusRecorder) WriteHeader(code int) {
	// 1xx responses (103 Early Hints) precede the real one.
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer (to
// flush, or to extend a deadline for a long export).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) wroteHeader() bool { return r.code != 0 }

// statusCode is the status sent, 200 when the handler wrote nothing (as
// net/http then sends), 0 never.
func (r *statusRecorder) statusCode() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
