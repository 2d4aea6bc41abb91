package ingest_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// accountsSeen collects what Changed hears.
type accountsSeen struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (a *accountsSeen) changed(ids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		a.ids[id] = true
	}
}

func (a *accountsSeen) sorted() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for id := range a.ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func scalar(t *testing.T, db *store.DB, query string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// rollupsMatch waits until the rollups count every stored event with an
// account, then checks them against a GROUP BY of the events.
func rollupsMatch(t *testing.T, db *store.DB) {
	t.Helper()
	want := scalar(t, db, `SELECT COUNT(*) FROM events WHERE account_id IS NOT NULL`)
	for deadline := time.Now().Add(60 * time.Second); scalar(t, db, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`) != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) { // a hang, not a slow machine
			t.Fatalf("rollups count %d events 60 s on, want %d", scalar(t, db, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`), want)
		}
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM (SELECT account_id, CAST(ts / 86400 AS INTEGER) AS day, event, COUNT(*) AS n FROM events
			WHERE account_id IS NOT NULL GROUP BY 1, 2, 3) e
			LEFT JOIN usage_daily d ON d.account_id = e.account_id AND d.day = e.day AND d.event = e.event AND d.count = e.n
			WHERE d.account_id IS NULL`,
		`SELECT COUNT(*) FROM (SELECT DISTINCT account_id, CAST(ts / 86400 AS INTEGER) AS day, user_id FROM events
			WHERE account_id IS NOT NULL AND user_id <> '') e
			LEFT JOIN usage_daily_users d ON d.account_id = e.account_id AND d.day = e.day AND d.user_id = e.user_id
			WHERE d.account_id IS NULL`,
	} {
		if n := scalar(t, db, q); n != 0 {
			t.Errorf("%d keys of the events not in the rollups: %s", n, q)
		}
	}
	if n, want := scalar(t, db, `SELECT COUNT(*) FROM usage_daily_users`),
		scalar(t, db, `SELECT COUNT(*) FROM (SELECT DISTINCT account_id, CAST(ts / 86400 AS INTEGER), user_id FROM events WHERE account_id IS NOT NULL AND user_id <> '') x`); n != want {
		t.Errorf("%d user-days rolled up, want %d", n, want)
	}
}

// Under sustained load the rollups follow the events from the journal, a
// compaction an interval, and once the load stops they count each event
// once; Changed hears of every account whose rollups changed.
func TestRollupJournalUnderLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seen := &accountsSeen{ids: map[string]bool{}}
		q := ingest.New(db, ingest.Options{Linger: time.Millisecond, RollupEvery: 30 * time.Millisecond, Changed: seen.changed})
		defer q.Close(ctx)
		base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		var during atomic.Int64 // the rollups' count seen while the load went on
		stop := time.Now().Add(600 * time.Millisecond)
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(stop); i++ {
					b := ingest.Batch{}
					for j := range 50 {
						n := i*50 + j
						b.Events = append(b.Events, ingest.Event{Event: usage.Event{MessageID: fmt.Sprintf("c%d-%d", c, n),
							UserID: fmt.Sprintf("u%d", n%13), Event: []string{"login", "export"}[n%2],
							Timestamp: base.Add(time.Duration(n%5) * 24 * time.Hour)}, ContextGroupID: fmt.Sprintf("acc-%d", n%10)})
					}
					if i%3 == 0 { // sent again: stored and rolled up once
						b.Events = append(b.Events, b.Events[0])
					}
					if err := q.Submit(ctx, b); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for time.Now().Before(stop) {
			during.Store(max(during.Load(), scalar(t, db, `SELECT COALESCE(SUM(count), 0) FROM usage_daily`)))
			time.Sleep(20 * time.Millisecond)
		}
		wg.Wait()
		t.Logf("%d events stored, %d rolled up while the load went on", scalar(t, db, `SELECT COUNT(*) FROM events`), during.Load())
		rollupsMatch(t, db)
		if n := scalar(t, db, `SELECT COUNT(*) FROM usage_rollup_journal`); n != 0 {
			t.Errorf("%d journal rows left once all is rolled up", n)
		}
		var want []string
		for i := range 10 {
			want = append(want, fmt.Sprintf("acc-%d", i))
		}
		slices.Sort(want)
		if got := seen.sorted(); !slices.Equal(got, want) {
			t.Errorf("changed %v, want %v", got, want)
		}
	})
}

// The journal rows a writer committed but did not apply (it was killed) are
// applied when the next queue starts, before any event comes.
func TestRollupJournalRecovered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sess, err := usage.NewSession(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		sess.DeferRollups()
		ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
		for i, acct := range []string{"acc-b", "acc-a"} {
			p, err := sess.IngestUncommitted(ctx, []usage.Event{
				{MessageID: fmt.Sprint("m", i), AccountID: acct, UserID: "u1", Event: "login", Timestamp: ts},
				{MessageID: fmt.Sprint("n", i), AccountID: acct, UserID: "u2", Event: "login", Timestamp: ts},
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		sess.Close()
		if n := scalar(t, db, `SELECT COUNT(*) FROM usage_rollup_journal`); n != 2 {
			t.Fatalf("%d journal rows, want 2", n)
		}
		seen := &accountsSeen{ids: map[string]bool{}}
		q := ingest.New(db, ingest.Options{Changed: seen.changed})
		defer q.Close(ctx)
		rollupsMatch(t, db)
		if n := scalar(t, db, `SELECT SUM(count) FROM usage_daily WHERE account_id = 'acc-a'`); n != 2 {
			t.Errorf("acc-a counts %d events, want 2", n)
		}
		for deadline := time.Now().Add(60 * time.Second); len(seen.sorted()) < 2; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("changed %v 60 s on", seen.sorted())
			}
		}
		if got := seen.sorted(); !slices.Equal(got, []string{"acc-a", "acc-b"}) {
			t.Errorf("changed %v, want [acc-a acc-b]", got)
		}
	})
}
