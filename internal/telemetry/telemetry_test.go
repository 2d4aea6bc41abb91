package telemetry

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value reads a counter's or gauge's value.
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var d dto.Metric
	if err := (<-ch).Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func TestNilIsANoOp(t *testing.T) {
	var m *Metrics
	m.ObserveRequest("GET", "/", 200, time.Millisecond)
	m.EventsAccepted("segment", 3)
	m.EventsRejected("segment", "invalid", 1)
	m.SetQueueDepth(5)
	m.AddQueueDepth(1)
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

	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{"kizuna_http_request_duration_seconds_bucket", "kizuna_events_accepted_total", "process_", "go_"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
}
