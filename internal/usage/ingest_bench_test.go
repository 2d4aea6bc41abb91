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

// BenchmarkIngestRound measures a group-commit round as the Segment API's
// writer sees it under load (32 clients sending 100 events each: 3,200
// events over 1,000 accounts a transaction), on connections from the pool
// (usage.IngestUncommitted) and on a usage.Session, which keeps its
// prepared statements from one round to the next.
func BenchmarkIngestRound(b *testing.B) {
	const size = 3200
	run := func(b *testing.B, db *store.DB, session bool) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		batch := func(k int) []usage.Event {
			evs := make([]usage.Event, size)
			for i := range evs {
				n := k*size + i
				evs[i] = usage.Event{MessageID: fmt.Sprintf("%08x-m", uint32(n)*2654435761), AccountID: fmt.Sprintf("acc-%d", n*7%1000),
					UserID: fmt.Sprintf("u%d", n%13), Event: []string{"login", "reports", "export"}[n%3], Timestamp: base.Add(time.Duration(n) * time.Second)}
			}
			return evs
		}
		write := func(evs []usage.Event) (*usage.Pending, error) { return usage.IngestUncommitted(ctx, db, evs) }
		if session {
			s, err := usage.NewSession(ctx, db)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			write = func(evs []usage.Event) (*usage.Pending, error) { return s.IngestUncommitted(ctx, evs) }
		}
		for i := range b.N + 3 {
			if i == 3 {
				b.ResetTimer() // after a few rounds on a table that holds some
			}
			p, err := write(batch(i))
			if err != nil {
				b.Fatal(err)
			}
			if n, err := p.Commit(); err != nil || n != size {
				b.Fatalf("round %d: %d new, %v", i, n, err)
			}
		}
		b.ReportMetric(float64(size*b.N)/b.Elapsed().Seconds(), "events/s")
	}
	for _, session := range []bool{false, true} {
		name := map[bool]string{false: "pool", true: "session"}[session]
		b.Run("sqlite/"+name, func(b *testing.B) { run(b, storetest.SQLite(b), session) })
		if storetest.PostgresAvailable() {
			b.Run("postgres/"+name, func(b *testing.B) { run(b, storetest.Postgres(b), session) })
		}
	}
}
