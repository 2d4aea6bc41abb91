package metrics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// seedBench writes accounts × perAccount subscription periods over the 60
// months to 2025-12 with plain multi-row INSERTs (fast enough for 100k rows).
func seedBench(b *testing.B, db *store.DB, accounts, perAccount int) int {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	first := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	const day = 86400
	n := 0
	var accts, periods []string
	flush := func() {
		if len(accts) > 0 {
			if _, err := db.ExecContext(ctx, `INSERT INTO accounts (account_id, recorded_at, updated_at) VALUES `+strings.Join(accts, ",")); err != nil {
				b.Fatal(err)
			}
		}
		if len(periods) > 0 {
			if _, err := db.ExecContext(ctx, `INSERT INTO subscription_periods (subscription_id, start_at, end_at, account_id, mrr_minor,
				currency, plan, product, recorded_at, updated_at) VALUES `+strings.Join(periods, ",")); err != nil {
				b.Fatal(err)
			}
		}
		accts, periods = accts[:0], periods[:0]
	}
	for a := range accounts {
		accts = append(accts, fmt.Sprintf("('acc-%06d', 1, 1)", a))
		start := first + r.Int64N(1200)*day
		mrr := 1000 + r.IntN(99000)
		for p := range perAccount {
			end := start + (20+r.Int64N(300))*day
			endSQL := fmt.Sprint(end)
			if p == perAccount-1 && r.IntN(3) == 0 {
				endSQL = "NULL"
			}
			periods = append(periods, fmt.Sprintf("('s-%06d', %d, %s, 'acc-%06d', %d, 'USD', 'plan%d', 'core', 1, 1)", a, start, endSQL, a, mrr, p%4))
			n++
			start = end + r.Int64N(3)*30*day
			mrr = max(500, mrr+r.IntN(20000)-9000)
		}
		if len(periods) >= 2000 {
			flush()
		}
	}
	flush()
	return n
}

// BenchmarkMonthly computes the 60-month table of 20,000 accounts and
// 100,000 subscription periods. bench/run measures the full size
// (200,000 accounts, a million periods) through the command line.
func BenchmarkMonthly(b *testing.B) {
	run := func(b *testing.B, db *store.DB) {
		n := seedBench(b, db, 20000, 5)
		from, _ := metrics.ParseMonth("2021-01")
		to, _ := metrics.ParseMonth("2025-12")
		b.ResetTimer()
		for range b.N {
			t, err := metrics.Compute(context.Background(), db, metrics.Options{From: from, To: to})
			if err != nil {
				b.Fatal(err)
			}
			if len(t.Rows) != 60 {
				b.Fatalf("%d rows", len(t.Rows))
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "periods/s")
	}
	b.Run("sqlite", func(b *testing.B) { run(b, storetest.SQLite(b)) })
	if storetest.PostgresAvailable() {
		b.Run("postgres", func(b *testing.B) { run(b, storetest.Postgres(b)) })
	}
}
