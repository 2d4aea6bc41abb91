package web

import (
	"context"
	"io"
	"net/http"
	"time"
)

// readyTimeout bounds a readiness check: a probe that hangs is as bad as one
// that fails, and orchestrators give up after a few seconds anyway.
const readyTimeout = 3 * time.Second

// healthz answers that the process is alive. It touches nothing else, so a
// slow database never gets a healthy server restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeOK(w)
}

// readyz answers whether the server can do its work: the database answers
// and its schema is the one this binary expects. Otherwise 503 with the
// reason, so a load balancer sends no traffic here.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.db.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeProblem(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeOK(w)
}

func writeOK(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}
