package recompute_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// BenchmarkRecompute times a full recompute (snapshots only) of 5,000
// accounts with the density of bench/genaccounts (active on ~40 % of 90
// days, 2-3 events and ~1.6 users an active day) on SQLite; bench/recompute.sh
// measures 1,000,000.
func BenchmarkRecompute(b *testing.B) {
	const n = 5000
	db := storetest.SQLite(b)
	ctx := context.Background()
	day := store.Day(at.Unix())
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for i := range n {
			id := fmt.Sprintf("acc-%05d", i)
			r := rand.New(rand.NewPCG(uint64(i), 7))
			if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ($1, $1, 0, 0)`, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO subscription_periods (subscription_id, start_at, account_id, mrr_minor, currency, quantity, recorded_at, updated_at)
				VALUES ($1, $2, $1, 10000, 'USD', 5, 0, 0)`, id, (day-400)*86400); err != nil {
				return err
			}
			for d := day - 89; d <= day; d++ {
				if r.Float64() >= 0.4 {
					continue
				}
				for _, e := range []string{"dashboards", "login", "reports"} {
					if e == "login" || r.Float64() < 0.6 {
						if _, err := tx.ExecContext(ctx, `INSERT INTO usage_daily (account_id, day, event, count) VALUES ($1, $2, $3, 3)`, id, d, e); err != nil {
							return err
						}
					}
				}
				span, bit := usage.DaySpan(d)
				for u := range 1 + r.IntN(3) {
					if _, err := tx.ExecContext(ctx, `INSERT INTO usage_user_days (account_id, span, user_id, days) VALUES ($1, $2, $3, $4)
						ON CONFLICT (account_id, span, user_id) DO UPDATE SET days = usage_user_days.days | excluded.days`,
						id, span, fmt.Sprint("u", u), bit); err != nil {
						return err
					}
				}
			}
		}
		// Written straight into usage_daily: the names the writers keep.
		_, err := tx.ExecContext(ctx, `INSERT INTO usage_event_names (event) VALUES ('dashboards'), ('login'), ('reports')`)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		res, err := recompute.Run(ctx, db, at, recompute.Options{})
		if err != nil || res.Accounts != n {
			b.Fatalf("%v, %+v", err, res)
		}
	}
	// Wall time depends on what else the machine runs; the CPU time of
	// this process (user+sys) much less.
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/account")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/n, "cpu-µs/account")
}

// cpuTime is the user+sys time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
