package usage_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// A Writer (a CSV import, the journal's applier) writes its rollup rows in
// key order; a group call's attribution adds them one account at a time,
// in the order the users were linked. Crossed (the attribution holds b's
// row when the Writer comes to it, then wants a's), they deadlocked on
// PostgreSQL, and the server rolled one back. With LockRollups the second
// to come waits for the first to commit, and both land.
func TestLockRollupsCrossedWriters(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("row locks between concurrent writers need PostgreSQL (KIZUNA_TEST_POSTGRES); SQLite has one writer at a time")
	}
	db := storetest.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const day = 20000
	ts := int64(day)*86400 + 3600

	// A name stored before: a new one would keep the Writer waiting already
	// at usage_event_names, before it holds any row the attribution wants.
	if _, err := db.ExecContext(ctx, `INSERT INTO usage_event_names (event) VALUES ('reports')`); err != nil {
		t.Fatal(err)
	}
	attr, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer attr.Rollback()
	add := func(account string) error {
		if err := usage.LockRollups(ctx, db, attr); err != nil {
			return err
		}
		return usage.AddRollups(ctx, attr, account, []usage.DailyCount{{Day: day, Event: "reports", Count: 2}},
			map[int64][]string{day: {"u-" + account}})
	}
	if err := add("b"); err != nil {
		t.Fatal(err)
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var pid int
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			w := usage.NewWriter(db, conn, tx)
			for i, account := range []string{"a", "b"} {
				e := usage.Raw{MessageID: "m" + account, AccountID: account, UserID: "w" + account, Event: "reports", TS: ts + int64(i)}
				if err := w.Add(ctx, e); err != nil {
					w.Abort()
					return err
				}
			}
			if _, err := w.Close(ctx); err != nil {
				return err
			}
			return tx.Commit()
		}()
	}()
	// The Writer waits: for the lock, or (without it) for b's row, having
	// written a's.
	for {
		var waiting bool
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(bool_or(wait_event_type = 'Lock'), false)
			FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the Writer ended while the attribution held b's row: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := add("a"); err != nil {
		t.Fatalf("attribution: %v", err)
	}
	if err := attr.Commit(); err != nil {
		t.Fatalf("attribution: commit: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Writer: %v", err)
	}

	daily, users := snapshot(t, db)
	want := []rollupRow{{"a", day, "reports", 3}, {"b", day, "reports", 3}}
	if !slices.Equal(daily, want) {
		t.Errorf("daily rollups = %v, want %v", daily, want)
	}
	if len(users) != 4 {
		t.Errorf("active user days = %v, want the 4 users", users)
	}
}
