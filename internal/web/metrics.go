package web

import "net/http"

// serveMetrics serves the Prometheus metrics. They reveal request rates and
// data volumes but no customer data; still, by default they take the
// credentials the API takes (a scraper uses a read key as its bearer
// token), unless the operator makes them public (KIZUNA_METRICS_PUBLIC=true)
// for a scraper on a private network.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.opts.MetricsPublic && !s.allowed(w, r, needRead) {
		return
	}
	s.metrics.Handler().ServeHTTP(w, r)
}
