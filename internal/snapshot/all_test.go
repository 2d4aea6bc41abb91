package snapshot_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestAllInBatches: All on the database reads batches of 1,000 accounts
// at once and joins them in order; the result is exactly what one pass in
// a transaction gives, with the accounts on either side of a batch's edge
// (999/1000, 1999/2000) and the last one in place.
func TestAllInBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := day(2024, 6, 30).Add(12 * time.Hour)
		today := store.Day(at.Unix())
		const n = 2345
		id := func(i int) string { return fmt.Sprintf("acc%05d", i) }
		for first := 0; first < n; first += 500 {
			var sb strings.Builder
			var args []any
			for i := first; i < min(first+500, n); i++ {
				if len(args) > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(" + store.Placeholders(len(args)+1, 2) + ", 0, 0)")
				args = append(args, id(i), fmt.Sprintf("Account %d", i))
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES `+sb.String(), args...); err != nil {
				t.Fatal(err)
			}
		}
		// Account i of these used reports i times today (and 1 time 45
		// days ago: outside the 30 days, inside the trend's 60).
		used := []int{0, 999, 1000, 1999, 2000, n - 1}
		for _, i := range used {
			if err := usage.AddRollups(ctx, db, id(i), []usage.DailyCount{{Day: today, Event: "reports", Count: int64(i + 1)},
				{Day: today - 45, Event: "reports", Count: 1}}, map[int64][]string{today: {"u1", "u2"}}); err != nil {
				t.Fatal(err)
			}
		}
		all, err := snapshot.All(ctx, db, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != n {
			t.Fatalf("All: %d snapshots, want %d", len(all), n)
		}
		for k, s := range all {
			if s.AccountID != id(k) {
				t.Fatalf("snapshot %d is %s, want %s", k, s.AccountID, id(k))
			}
		}
		for _, i := range used {
			s := all[i]
			// Trend: i+1 events in the 30 days against 1 in the 30 before.
			if s.Events30d != float64(i+1) || s.UsageTrend != float64(i) || s.ActiveUsers30d != 2 || s.DaysSinceActivity != 0 {
				t.Errorf("account %d: events_30d %v, trend %v, active users %d, days since activity %d; want %d, %d, 2, 0",
					i, s.Events30d, s.UsageTrend, s.ActiveUsers30d, s.DaysSinceActivity, i+1, i)
			}
		}
		if s := all[1001]; s.Events30d != 0 || s.DaysSinceActivity != -1 {
			t.Errorf("account 1001 without usage: events_30d %v, days since activity %d", s.Events30d, s.DaysSinceActivity)
		}
		var one []snapshot.Snapshot
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			one, err = snapshot.All(ctx, tx, at)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one, all) {
			t.Error("All in batches differs from All in one transaction")
		}
	})
}

// planRecorder keeps the SQLite plan of every query it runs (before
// running it).
type planRecorder struct {
	store.Querier
	plans map[string]string
}

func (p *planRecorder) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := p.Querier.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, err
	}
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			rows.Close()
			return nil, err
		}
		plan.WriteString(detail + "\n")
	}
	rows.Close()
	p.plans[query] = plan.String()
	return p.Querier.QueryContext(ctx, query, args...)
}

// TestRollupsSeekPerAccount: the snapshot's queries of the daily rollups
// go from the accounts to each account's days (a seek on account_id = ?
// and the day or span range), not along a range of the rollup's account_id, which
// reads every day of every account's history: on the scale-1 demo that
// made the login weeks, usage and active users queries 2–3 times slower.
func TestRollupsSeekPerAccount(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ('a', 'A', 0, 0), ('b', 'B', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	p := &planRecorder{Querier: db, plans: map[string]string{}}
	if _, err := snapshot.All(ctx, p, day(2024, 6, 30)); err != nil {
		t.Fatal(err)
	}
	rollups := 0
	for query, plan := range p.plans {
		// The default key features (every event name) read the rollups
		// once, not per account; the demo names its key features.
		if !strings.Contains(query, "usage_daily") && !strings.Contains(query, "usage_user_days") || strings.Contains(query, "DISTINCT event") {
			continue
		}
		rollups++
		for _, line := range strings.Split(strings.TrimSpace(plan), "\n") {
			if strings.Contains(line, "account_id>? AND account_id<?") && !strings.Contains(line, "accounts") ||
				strings.HasPrefix(line, "SCAN u") || strings.HasPrefix(line, "SCAN usage_") {
				t.Errorf("a rollup read along account_id: %q in the plan of\n%s\nplan:\n%s", line, query, plan)
			}
		}
	}
	if rollups < 4 { // usage, last activity, active users, login weeks
		t.Errorf("%d queries of the rollups seen, want at least 4", rollups)
	}
}
