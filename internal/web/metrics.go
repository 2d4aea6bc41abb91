package web

import (
	"net/http"
	"strings"
)

// serveMetrics serves the Prometheus metrics. They reveal request rates and
// data volumes but no customer data; still, by default they take the
// credentials the API takes (a scraper uses a read key as its bearer
// token), unless the operator makes them public (KIZUNA_METRICS_PUBLIC=true)
// for a scraper on a private network.
//
// The same path is the UI's metrics page: a browser asks for text/html,
// which no Prometheus scraper does, and gets the page instead.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		s.ui.MetricsPage().ServeHTTP(w, r)
		return
	}
	if !s.opts.MetricsPublic && !s.allowed(w, r, needRead) {
		return
	}
	s.metrics.Handler().ServeHTTP(w, r)
}
