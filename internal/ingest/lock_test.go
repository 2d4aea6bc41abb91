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
// rollups under usage.LockRollups: while another writer of the rollups (an
// import, the applier) holds it, the round waits for its commit, then adds
// the events once.
func TestAttributionTakesRollupLock(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("the rollups' lock is PostgreSQL's (KIZUNA_TEST_POSTGRES); SQLite has one writer at a time")
	}
	db := storetest.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := ingest.New(db, ingest.Options{Linger: -1})
	ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	if err := q.Submit(ctx, ingest.Batch{Events: []ingest.Event{{Event: usage.Event{MessageID: "m1", UserID: "u1", Event: "login", Timestamp: ts}}}}); err != nil {
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
		done <- q.Submit(ctx, ingest.Batch{Groups: []ingest.Group{{UserID: "u1", GroupID: "acc1", TS: ts.Unix() + 60}}})
	}()
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
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("group call: %v", err)
	}
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := usage.Daily(ctx, db, "acc1", 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Event != "login" || got[0].Count != 1 {
		t.Errorf("acc1's rollups = %v, want the one login", got)
	}
}
