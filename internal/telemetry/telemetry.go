// Package telemetry holds the Prometheus metrics a Kizuna server exposes at
// /metrics: HTTP requests by route and status, their latency, events
// accepted and rejected by ingestion, and the depth of the ingestion queue.
//
// Each server owns one [Metrics] (its own registry, so tests can run
// several servers in one process). Packages that report something take a
// *Metrics; every method is safe on a nil *Metrics and then does nothing,
// so such packages work, and test, without one.
package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are one server's metrics.
type Metrics struct {
	registry *prometheus.Registry

	requests *prometheus.CounterVec   // method, route, status
	latency  *prometheus.HistogramVec // method, route
	accepted *prometheus.CounterVec   // source
	rejected *prometheus.CounterVec   // source, reason
	queue    prometheus.Gauge
}

// New returns metrics registered in a fresh registry, together with the Go
// runtime and process metrics.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kizuna_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kizuna_http_request_duration_seconds",
			Help: "Time to answer HTTP requests, by method and route pattern.",
			// From a cached page (1 ms) to a large CSV import (minutes).
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120},
		}, []string{"method", "route"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kizuna_events_accepted_total",
			Help: "Usage events accepted (durably stored), by source (segment, csv, ...).",
		}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kizuna_events_rejected_total",
			Help: "Usage events rejected, by source and reason (invalid, too_large, overloaded, ...).",
		}, []string{"source", "reason"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kizuna_ingest_queue_depth",
			Help: "Events accepted by the ingestion API and waiting to be written.",
		}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.accepted, m.rejected, m.queue,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Register adds collectors (a database pool's statistics, say) to the registry.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	if m == nil {
		return nil
	}
	for _, c := range cs {
		if err := m.registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Gatherer is the registry, for tests that read values back.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// knownMethods keeps the method label's values few: a client sending
// made-up methods must not create series without bound.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// ObserveRequest counts one answered request. route is the ServeMux pattern
// that matched ("GET /api/v1/accounts/{account_id}"), never the raw path,
// which would make a series per account; "" (no route matched) is
// reported as "unmatched".
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if !knownMethods[method] {
		method = "OTHER"
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// EventsAccepted counts n events from source that were durably stored.
func (m *Metrics) EventsAccepted(source string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.accepted.WithLabelValues(source).Add(float64(n))
}

// EventsRejected counts n events from source that were refused, with a
// short fixed reason ("invalid", "too_large", "overloaded", "unauthorized").
func (m *Metrics) EventsRejected(source, reason string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.rejected.WithLabelValues(source, reason).Add(float64(n))
}

// SetQueueDepth reports how many accepted events wait to be written.
func (m *Metrics) SetQueueDepth(n int) {
	if m == nil {
		return
	}
	m.queue.Set(float64(n))
}

// AddQueueDepth changes the queue depth by delta (positive when events are
// queued, negative when written), for writers that count rather than measure.
func (m *Metrics) AddQueueDepth(delta int) {
	if m == nil {
		return
	}
	m.queue.Add(float64(delta))
}
