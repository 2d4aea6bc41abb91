package usage_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
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

// JournalRollups, once the journal is applied, adds what AddRollups adds.
func TestJournalRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		counts := []usage.DailyCount{{Day: may1, Event: "login", Count: 5}, {Day: may3, Event: "export", Count: 2}, {Day: may3, Event: "login", Count: 1}}
		users := map[int64][]string{may1: {"u1", "u2"}, may3: {"u7", "u7", "u8"}}
		for range 2 { // both add: counts double, users stay distinct
			if err := usage.AddRollups(ctx, db, "A", counts, users); err != nil {
				t.Fatal(err)
			}
			if err := usage.JournalRollups(ctx, db, "B", counts, users); err != nil {
				t.Fatal(err)
			}
		}
		if err := usage.JournalRollups(ctx, db, "C", nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := usage.JournalRollups(ctx, db, "D", []usage.DailyCount{{Day: may1, Event: "login", Count: -1}}, nil); err == nil ||
			!strings.Contains(err.Error(), "journal rollups of D: count -1 of login on day") {
			t.Errorf("a negative count: %v", err)
		}
		var rows int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_rollup_journal`).Scan(&rows); err != nil || rows != 2 {
			t.Fatalf("journal rows = %d, %v; want B's two (nothing for C, D)", rows, err)
		}
		if got, _ := usage.Daily(ctx, db, "B", 0, 1<<30); len(got) != 0 {
			t.Fatalf("B's rollups before the journal is applied: %v", got)
		}
		accounts, err := usage.ApplyJournal(ctx, db)
		if err != nil || !slices.Equal(accounts, []string{"B"}) {
			t.Fatalf("ApplyJournal = %v, %v; want [B]", accounts, err)
		}
		a, errA := usage.Daily(ctx, db, "A", 0, 1<<30)
		b, errB := usage.Daily(ctx, db, "B", 0, 1<<30)
		want := []usage.DailyCount{{Day: may1, Event: "login", Count: 10}, {Day: may3, Event: "export", Count: 4}, {Day: may3, Event: "login", Count: 2}}
		if errA != nil || errB != nil || !slices.Equal(a, want) || !slices.Equal(b, want) {
			t.Errorf("Daily: A %v (%v), B %v (%v); want both %v", a, errA, b, errB, want)
		}
		for _, day := range []int64{may1, may3} {
			na, _ := usage.ActiveUsers(ctx, db, "A", day, day)
			nb, _ := usage.ActiveUsers(ctx, db, "B", day, day)
			if na != 2 || nb != 2 {
				t.Errorf("active users on day %d: A %d, B %d; want 2", day, na, nb)
			}
		}
		if names, err := usage.EventNames(ctx, db); err != nil || !slices.Equal(names, []string{"export", "login"}) {
			t.Errorf("EventNames = %v, %v", names, err)
		}
	})
}
