package ingest_test

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/telemetry"
)

// The writer reports each round's calls and the time of its steps: the
// rounds' calls add up to the calls submitted, every round has its
// statements and its commit timed, and the rollups applied at Close are
// timed too.
func TestWriterMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		m := telemetry.New()
		var rounds, calls int
		q := ingest.New(db, ingest.Options{Metrics: m, Linger: time.Millisecond, OnCommit: func(_, n int) {
			rounds++
			calls += n
		}})
		ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		for i, n := range []int{3, 40, 7} {
			if err := q.Submit(ctx, batch(string(rune('a'+i)), n, ts)); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if rounds != 3 || calls != 50 {
			t.Fatalf("OnCommit heard %d rounds of %d calls; want 3 of 50", rounds, calls)
		}
		got := histograms(t, m)
		if r := got["kizuna_ingest_round_calls"][""]; r.GetSampleCount() != 3 || r.GetSampleSum() != 50 {
			t.Errorf("round calls: %d rounds, %v calls; want 3, 50", r.GetSampleCount(), r.GetSampleSum())
		}
		steps := got["kizuna_ingest_step_duration_seconds"]
		for step, want := range map[string]uint64{telemetry.StepStatements: 3, telemetry.StepCommit: 3} {
			if h := steps[step]; h.GetSampleCount() != want || h.GetSampleSum() <= 0 {
				t.Errorf("step %s: %d samples summing to %v s; want %d, more than 0", step, h.GetSampleCount(), h.GetSampleSum(), want)
			}
		}
		// At least the journal applied at Close (also the start-up apply).
		if h := steps[telemetry.StepRollups]; h.GetSampleCount() == 0 {
			t.Errorf("step rollups: no sample")
		}
		if n := scalar(t, db, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`); n != 50 {
			t.Errorf("usage_daily counts %d events, want 50", n)
		}
	})
}

// histograms returns the histograms gathered from m, by name and the value
// of their one label ("" for none).
func histograms(t *testing.T, m *telemetry.Metrics) map[string]map[string]*dto.Histogram {
	t.Helper()
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]*dto.Histogram{}
	for _, f := range families {
		if f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		out[f.GetName()] = map[string]*dto.Histogram{}
		for _, mt := range f.Metric {
			label := ""
			if len(mt.Label) > 0 {
				label = mt.Label[0].GetValue()
			}
			out[f.GetName()][label] = mt.Histogram
		}
	}
	return out
}
