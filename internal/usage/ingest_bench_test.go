package usage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// BenchmarkIngest measures the online path: one transaction a batch of 100
// new events (what the Segment API's group commit writes), on a table that
// already holds some.
func BenchmarkIngest(b *testing.B) {
	run := func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		batch := func(k int) []usage.Event {
			evs := make([]usage.Event, 100)
			for i := range evs {
				n := k*100 + i
				evs[i] = usage.Event{MessageID: fmt.Sprintf("m-%d", n), AccountID: fmt.Sprintf("a%d", n%50), UserID: fmt.Sprintf("u%d", n%7),
					Event: "login", Timestamp: base.Add(time.Duration(n) * time.Minute)}
			}
			return evs
		}
		for k := range 20 {
			if _, err := usage.Ingest(ctx, db, batch(k)); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := range b.N {
			if n, err := usage.Ingest(ctx, db, batch(20+i)); err != nil || n != 100 {
				b.Fatalf("ingest: %d new, %v", n, err)
			}
		}
		b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("sqlite", func(b *testing.B) { run(b, storetest.SQLite(b)) })
	if storetest.PostgresAvailable() {
		b.Run("postgres", func(b *testing.B) { run(b, storetest.Postgres(b)) })
	}
}
