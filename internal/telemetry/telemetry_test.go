package telemetry

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// collect reads the one metric c collects.
func collect(t *testing.T, c prometheus.Collector) *dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var d dto.Metric
	if err := (<-ch).Write(&d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// value reads a counter's or gauge's value.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	d := collect(t, c)
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

// histogram reads a histogram's values.
func histogram(t *testing.T, c prometheus.Collector) *dto.Histogram {
	t.Helper()
	return collect(t, c).Histogram
}

func TestNilIsANoOp(t *testing.T) {
	var m *Metrics
	m.ObserveRequest("GET", "/", 200, time.Millisecond)
	m.EventsAccepted("segment", 3)
	m.EventsRejected("segment", "invalid", 1)
	m.SetQueueDepth(5)
	m.AddQueueDepth(1)
	m.ObserveIngest(StepCommit, time.Millisecond)
	m.ObserveRound(3)
	if err := m.Register(); err != nil {
		t.Fatal(err)
	}
}

func TestMetrics(t *testing.T) {
	m := New()
	m.ObserveRequest("GET", "GET /api/v1/accounts", 200, 5*time.Millisecond)
	m.ObserveRequest("BREW", "", 405, time.Millisecond)
	m.EventsAccepted("segment", 100)
	m.EventsAccepted("segment", 0) // ignored
	m.EventsRejected("segment", "too_large", 2)
	m.SetQueueDepth(40)
	m.AddQueueDepth(-15)

	for _, c := range []struct {
		got  float64
		want float64
	}{
		{value(t, m.requests.WithLabelValues("GET", "GET /api/v1/accounts", "200")), 1},
		{value(t, m.requests.WithLabelValues("OTHER", "unmatched", "405")), 1},
		{value(t, m.accepted.WithLabelValues("segment")), 100},
		{value(t, m.rejected.WithLabelValues("segment", "too_large")), 2},
		{value(t, m.queue), 25},
	} {
		if c.got != c.want {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}

	m.ObserveIngest(StepStatements, 4*time.Millisecond)
	m.ObserveIngest(StepStatements, 40*time.Millisecond)
	m.ObserveIngest(StepCommit, 2*time.Millisecond)
	m.ObserveRound(2150)
	for _, c := range []struct {
		name       string
		h          prometheus.Collector
		count      uint64
		sum        float64
		underFirst uint64 // samples at most the first bucket's bound
	}{
		{"statements", m.steps.WithLabelValues(StepStatements).(prometheus.Histogram), 2, 0.044, 0},
		{"commit", m.steps.WithLabelValues(StepCommit).(prometheus.Histogram), 1, 0.002, 0},
		{"rounds", m.rounds, 1, 2150, 0},
	} {
		h := histogram(t, c.h)
		if h.GetSampleCount() != c.count || math.Abs(h.GetSampleSum()-c.sum) > 1e-9 || h.Bucket[0].GetCumulativeCount() != c.underFirst {
			t.Errorf("%s: count %d, sum %v, first bucket %d; want %d, %v, %d", c.name, h.GetSampleCount(), h.GetSampleSum(),
				h.Bucket[0].GetCumulativeCount(), c.count, c.sum, c.underFirst)
		}
	}

	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{"kizuna_http_request_duration_seconds_bucket", "kizuna_events_accepted_total",
		`kizuna_ingest_step_duration_seconds_bucket{step="statements",le="0.005"} 1`, "kizuna_ingest_round_calls_sum 2150", "process_", "go_"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}
