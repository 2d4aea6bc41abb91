// Package telemetry holds the Prometheus metrics a Kizuna server exposes at
// /metrics: HTTP requests by route and status, their latency, events
// accepted and rejected by ingestion, the depth of the ingestion queue, and
// how long the ingestion writer's steps take.
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
	steps    *prometheus.HistogramVec // step
	rounds   prometheus.Histogram
}

// The steps of the ingestion writer that ObserveIngest times.
const (
	// StepStatements is a round's statements: its events and journal row
	// written, not yet durable (SQLite: committed without the log sync).
	StepStatements = "statements"
	// StepCommit is a round's commit: the log synced to disk (SQLite) or
	// the transaction committed (PostgreSQL).
	StepCommit = "commit"
	// StepRollups is one transaction of rollup work: a journal row (or the
	// whole journal) applied, or a compaction put in place.
	StepRollups = "rollups"
)

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
		// A request is answered after its round's statements and commit
		// (and waits for the round before it): these are what its latency
		// is made of, where the request histogram shows only the sum.
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kizuna_ingest_step_duration_seconds",
			Help:    "Time the ingestion writer spends on a step: a round's statements, its commit, or a transaction of rollup work.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .02, .03, .05, .1, .25, .5, 1, 5},
		}, []string{"step"}),
		rounds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kizuna_ingest_round_calls",
			Help:    "Calls (events, group and identify calls) the ingestion writer wrote together in one round.",
			Buckets: []float64{1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000},
		}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.accepted, m.rejected, m.queue, m.steps, m.rounds,
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

// ObserveIngest records how long a step of the ingestion writer took (one
// of the Step constants).
func (m *Metrics) ObserveIngest(step string, d time.Duration) {
	if m == nil {
		return
	}
	m.steps.WithLabelValues(step).Observe(d.Seconds())
}

// ObserveRound records how many calls the ingestion writer wrote together
// in one round.
func (m *Metrics) ObserveRound(calls int) {
	if m == nil {
		return
	}
	m.rounds.Observe(float64(calls))
}
