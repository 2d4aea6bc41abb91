// Command genaccounts fills a database with synthetic accounts for the
// recompute benchmark: `go run ./bench/genaccounts -db DB -accounts N`.
//
// Density (documented in bench/recompute.sh too): every account has one
// subscription period (started within the 3 years before the end day, a
// third of them ending within the next year, MRR 50–5,000 USD, 1–20
// seats) and 1–5 users; over the 90 days ending -end it is active on about
// 40 % of the days; an active day has a login row, a reports row (70 %) and
// a dashboards row (50 %) in usage_daily, and each of its users is active
// with probability 1/2 (at least one) in usage_user_days. 80 % of the
// accounts completed setup on their first active day. That is some 79
// usage_daily rows and 58 user-days (in about 6 usage_user_days rows) an
// account.
//
// It writes straight into the tables (multi-row INSERT on SQLite, COPY on
// PostgreSQL), in key order, in chunks of 2,000 accounts.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

func main() {
	dsn := flag.String("db", "", "database: SQLite file or postgres:// URL (required)")
	n := flag.Int("accounts", 1000000, "number of accounts")
	endDay := flag.String("end", "2025-12-31", "the last day of usage (YYYY-MM-DD)")
	flag.Parse()
	end, err := time.Parse("2006-01-02", *endDay)
	if err != nil || *dsn == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: genaccounts -db DB [-accounts N] [-end YYYY-MM-DD]")
		os.Exit(2)
	}
	if err := run(context.Background(), *dsn, *n, end); err != nil {
		fmt.Fprintln(os.Stderr, "genaccounts:", err)
		os.Exit(1)
	}
}

type table struct {
	name string
	cols []string
	rows [][]any
}

func run(ctx context.Context, dsn string, n int, end time.Time) error {
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	var existing int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&existing); err != nil {
		return err
	}
	if existing > 0 {
		return fmt.Errorf("%s already has %d accounts: start from an empty database", db.Location, existing)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if db.Dialect == store.SQLite {
		// A benchmark fixture: losing it in a power cut costs a re-run.
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous=OFF`); err != nil {
			return err
		}
	}
	lastDay := store.Day(end.Unix())
	now := time.Now().Unix()
	const chunk = 2000
	start := time.Now()
	rows := 0
	for lo := 0; lo < n; lo += chunk {
		tables := []*table{
			{name: "accounts", cols: []string{"account_id", "name", "signup_at", "owner_email", "recorded_at", "updated_at"}},
			{name: "subscription_periods", cols: []string{"subscription_id", "start_at", "end_at", "account_id", "mrr_minor", "currency", "plan", "product", "quantity", "recorded_at", "updated_at"}},
			{name: "usage_daily", cols: []string{"account_id", "day", "event", "count"}},
			{name: "usage_user_days", cols: []string{"account_id", "span", "user_id", "days"}},
		}
		for i := lo; i < min(lo+chunk, n); i++ {
			gen(i, lastDay, now, tables)
		}
		if err := write(ctx, db.Dialect, conn, tables); err != nil {
			return fmt.Errorf("accounts %d..%d: %w", lo, min(lo+chunk, n)-1, err)
		}
		for _, t := range tables {
			rows += len(t.rows)
		}
		if (lo/chunk)%50 == 0 {
			fmt.Fprintf(os.Stderr, "genaccounts: %d accounts, %d rows, %.0f s\n", lo+chunk, rows, time.Since(start).Seconds())
		}
	}
	// VACUUM on PostgreSQL also sets the visibility map, which index-only
	// scans (the last-activity seeks) need to skip the heap.
	analyze := `ANALYZE`
	if db.Dialect == store.Postgres {
		analyze = `VACUUM ANALYZE`
	}
	if _, err := conn.ExecContext(ctx, analyze); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	// Written straight into usage_daily: the names the writers keep.
	if _, err := conn.ExecContext(ctx, `INSERT INTO usage_event_names (event) SELECT DISTINCT event FROM usage_daily WHERE true
		ON CONFLICT (event) DO NOTHING`); err != nil {
		return fmt.Errorf("event names: %w", err)
	}
	fmt.Fprintf(os.Stderr, "genaccounts: %d accounts, %d rows in %.0f s\n", n, rows, time.Since(start).Seconds())
	return nil
}

// gen appends account i's rows; the same i always gives the same rows.
func gen(i int, lastDay, now int64, t []*table) {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	id := fmt.Sprintf("acc-%07d", i)
	signup := (lastDay - 90 - int64(r.IntN(1000))) * 86400
	t[0].rows = append(t[0].rows, []any{id, fmt.Sprintf("Account %d", i), signup, fmt.Sprintf("csm%d@example.com", i%200), now, now})
	var endAt any
	if r.IntN(3) == 0 {
		endAt = (lastDay + 1 + int64(r.IntN(365))) * 86400
	}
	seats := 1 + r.IntN(20)
	t[1].rows = append(t[1].rows, []any{"sub-" + id, signup, endAt, id, int64(5000 + r.IntN(495000)), "USD",
		[]string{"starter", "growth", "enterprise"}[r.IntN(3)], "platform", float64(seats), now, now})
	users := 1 + r.IntN(5)
	days := map[[2]int64]int64{} // (span, user) → the bits of the days active
	setup := r.IntN(5) != 0
	for d := lastDay - 89; d <= lastDay; d++ {
		if r.Float64() >= 0.4 {
			continue
		}
		// Rows in key order (account, day, event).
		if r.Float64() < 0.5 {
			t[2].rows = append(t[2].rows, []any{id, d, "dashboards", int64(1 + r.IntN(20))})
		}
		t[2].rows = append(t[2].rows, []any{id, d, "login", int64(1 + r.IntN(10))})
		if r.Float64() < 0.7 {
			t[2].rows = append(t[2].rows, []any{id, d, "reports", int64(1 + r.IntN(30))})
		}
		if setup {
			t[2].rows = append(t[2].rows, []any{id, d, "setup_completed", int64(1)})
			setup = false
		}
		active := 0
		for u := range users {
			if r.IntN(2) == 0 || (u == users-1 && active == 0) {
				span, bit := usage.DaySpan(d)
				days[[2]int64{span, int64(u)}] |= bit
				active++
			}
		}
	}
	// In key order (account, span, user): "u0" to "u4" sort as numbers.
	for span := (lastDay - 89) >> 6; span <= lastDay>>6; span++ {
		for u := range users {
			if m, ok := days[[2]int64{span, int64(u)}]; ok {
				t[3].rows = append(t[3].rows, []any{id, span, fmt.Sprintf("u%d", u), m})
			}
		}
	}
}

func write(ctx context.Context, d store.Dialect, conn *sql.Conn, tables []*table) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range tables {
		if d == store.Postgres {
			if _, err := store.CopyFrom(ctx, conn, t.name, t.cols, t.rows); err != nil {
				return fmt.Errorf("copy into %s: %w", t.name, err)
			}
			continue
		}
		const per = 200
		full, err := tx.PrepareContext(ctx, insert(t, per))
		if err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
		args := make([]any, 0, per*len(t.cols))
		for lo := 0; lo < len(t.rows); lo += per {
			part := t.rows[lo:min(lo+per, len(t.rows))]
			args = args[:0]
			for _, row := range part {
				args = append(args, row...)
			}
			st := full
			if len(part) < per {
				if st, err = tx.PrepareContext(ctx, insert(t, len(part))); err != nil {
					return fmt.Errorf("insert into %s: %w", t.name, err)
				}
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert into %s: %w", t.name, err)
			}
		}
	}
	return tx.Commit()
}

// insert is the INSERT of n rows into t.
func insert(t *table, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", t.name, strings.Join(t.cols, ", "))
	for k := range n {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + store.Placeholders(k*len(t.cols)+1, len(t.cols)) + ")")
	}
	return b.String()
}
