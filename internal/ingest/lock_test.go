package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// A group call that attributes a user's earlier events adds them to the
// rollups. While another writer of the rollups (a CSV import, the
// applier) holds usage.LockRollups, a round that journals its rollups (the
// default) goes on, and the events are added when the journal is applied;
// without the journal it waits for that writer's commit. Either way they
// are added once.
func TestAttributionBesideRollupLock(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("the rollups' lock is PostgreSQL's (KIZUNA_TEST_POSTGRES); SQLite has one writer at a time")
	}
	for _, tc := range []struct {
		name    string
		every   time.Duration
		waits   bool
		journal bool
	}{
		{"journaled", 0, false, true},
		{"direct", -1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := storetest.Postgres(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			q := ingest.New(db, ingest.Options{Linger: -1, RollupEvery: tc.every})
			ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
			if err := q.Submit(ctx, ingest.Batch{Events: []ingest.Event{
				{Event: usage.Event{MessageID: "m1", UserID: "u1", Event: "login", Timestamp: ts}},
				{Event: usage.Event{MessageID: "m2", UserID: "u1", Event: "login", Timestamp: ts.Add(time.Hour)}},
			}}); err != nil {
				t.Fatal(err)
			}

			other, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Rollback()
			if err := usage.LockRollups(ctx, db, other); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- q.Submit(ctx, ingest.Batch{Groups: []ingest.Group{{UserID: "u1", GroupID: "acc1", TS: ts.Unix() + 7200}}})
			}()
			if tc.waits {
				for waiting := false; !waiting; {
					if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)`).Scan(&waiting); err != nil {
						t.Fatal(err)
					}
					select {
					case err := <-done:
						t.Fatalf("the group call's round ended (%v) while another writer held the rollups' lock", err)
					case <-time.After(10 * time.Millisecond):
					}
				}
			} else {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("group call beside the lock: %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the group call's round waited for another writer of the rollups")
				}
			}
			var journal int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_rollup_journal`).Scan(&journal); err != nil {
				t.Fatal(err)
			}
			if other.Commit(); tc.waits {
				if err := <-done; err != nil {
					t.Fatalf("group call: %v", err)
				}
			}
			if err := q.Close(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := usage.Daily(ctx, db, "acc1", 0, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Event != "login" || got[0].Count != 2 {
				t.Errorf("acc1's rollups = %v, want the two logins", got)
			}
			if users, err := usage.ActiveUsers(ctx, db, "acc1", 0, 1<<30); err != nil || users != 1 {
				t.Errorf("acc1's active users = %d, %v; want u1", users, err)
			}
			if tc.journal && journal == 0 {
				t.Error("the attribution wrote no journal row")
			}
		})
	}
}
