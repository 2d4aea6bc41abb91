package ingest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// heldQueue starts a queue on a fresh PostgreSQL database (skipping the
// test without one) whose pipelined commits each signal reached and wait
// for release; submit sends a batch and returns where its answer comes.
func heldQueue(t *testing.T) (db *store.DB, q *Queue, reached, release chan struct{}, submit func(Batch) chan error) {
	t.Helper()
	if !storetest.PostgresAvailable() {
		t.Skip("PostgreSQL only (" + storetest.EnvPostgres + " unset); SQLite: TestSQLiteSyncBeforeAnswer")
	}
	db = storetest.Postgres(t)
	ctx := context.Background()
	q = New(db, Options{Linger: -1})
	t.Cleanup(func() { q.Close(ctx) })
	reached, release = make(chan struct{}, 4), make(chan struct{})
	q.beforeCommit = func() {
		reached <- struct{}{}
		<-release
	}
	submit = func(b Batch) chan error {
		done := make(chan error, 1)
		go func() { done <- q.Submit(ctx, b) }()
		return done
	}
	return db, q, reached, release, submit
}

// On PostgreSQL a round's commit runs while the writer goes on: the next
// round's events are written meanwhile, but a group call waits for the
// commit in flight, so that the events it commits are attributed to the
// user's account (and rolled up once).
func TestPipelinedCommit(t *testing.T) {
	db, q, reached, release, submit := heldQueue(t)
	ctx := context.Background()
	ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	track := func(id, account string) Batch {
		return Batch{Events: []Event{{Event: usage.Event{MessageID: id, UserID: "u1", Event: "Login", Timestamp: ts}, ContextGroupID: account}}}
	}
	count := func(query string) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Round 1: an event of u1, who has no account yet, held before its commit.
	first := submit(track("e1", ""))
	<-reached
	// Round 2 (another such event) is written while round 1 commits: both
	// transactions are open at once.
	second := submit(track("e2", ""))
	deadline := time.Now().Add(10 * time.Second)
	for count(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("round 2 was not written while round 1 committed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("round 1: %v", err)
	}
	<-reached // round 2, at its commit

	// Round 3 links u1 to acc1 (and has an event, e3, of u1) while round 2
	// commits: it must wait, or its attribution would not see e2.
	third := submit(Batch{Groups: []Group{{UserID: "u1", GroupID: "acc1", TS: ts.Unix() + 60}},
		Events: track("e3", "").Events})
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-third:
		t.Fatalf("round 3 answered (%v) before round 2 committed", err)
	default:
	}
	release <- struct{}{}
	if err := <-second; err != nil {
		t.Fatalf("round 2: %v", err)
	}
	<-reached // round 3, at its commit
	release <- struct{}{}
	if err := <-third; err != nil {
		t.Fatalf("round 3: %v", err)
	}
	// e1 and e2 are rolled up by their attribution, e3 by the journal,
	// which Close applies.
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		want  int64
	}{
		{`SELECT COUNT(*) FROM events WHERE account_id = 'acc1'`, 3},
		{`SELECT COUNT(*) FROM events WHERE account_id IS NULL`, 0},
		{`SELECT COALESCE(SUM(count), 0) FROM usage_daily WHERE account_id = 'acc1'`, 3},
		{`SELECT COUNT(*) FROM usage_daily_users WHERE account_id = 'acc1' AND user_id = 'u1'`, 1},
	} {
		if got := count(c.query); got != c.want {
			t.Errorf("%s = %d, want %d", c.query, got, c.want)
		}
	}
}

// A round that fails while the round before it commits leaves that
// commit's connection alone: the round after it writes on the other one.
func TestPipelinedFailedRound(t *testing.T) {
	db, _, reached, release, submit := heldQueue(t)
	ctx := context.Background()
	ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	track := func(id string, ts time.Time) Batch {
		return Batch{Events: []Event{{Event: usage.Event{MessageID: id, UserID: "u1", Event: "Login", Timestamp: ts}, ContextGroupID: "acc1"}}}
	}
	first := submit(track("e1", ts))
	<-reached
	// The writer refuses a day number beyond 32 bits: this round fails.
	if err := <-submit(track("e2", time.Date(9999999, 1, 1, 0, 0, 0, 0, time.UTC))); err == nil {
		t.Fatal("the round out of range was stored")
	}
	third := submit(track("e3", ts.Add(time.Minute)))
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("round 1: %v", err)
	}
	select {
	case <-reached:
	case err := <-third:
		t.Fatalf("round 3 answered %v before its commit", err)
	case <-time.After(30 * time.Second):
		t.Fatal("round 3 did not reach its commit")
	}
	release <- struct{}{}
	if err := <-third; err != nil {
		t.Fatalf("round 3: %v", err)
	}
	var ids string
	if err := db.QueryRowContext(ctx, `SELECT STRING_AGG(message_id, ' ' ORDER BY message_id) FROM events`).Scan(&ids); err != nil || ids != "e1 e3" {
		t.Fatalf("stored %q, %v; want e1 e3", ids, err)
	}
}

// On SQLite the writer commits a round without waiting for the disk and a
// goroutine syncs the log before answering: the round's events are stored
// (and the next round written) before the answer, which comes only after
// the sync; a failed sync is an error to the client, whose retry stores
// nothing twice.
func TestSQLiteSyncBeforeAnswer(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	q := New(db, Options{Linger: -1})
	defer q.Close(ctx)
	reached, release := make(chan struct{}, 4), make(chan struct{})
	q.beforeCommit = func() {
		reached <- struct{}{}
		<-release
	}
	var syncs atomic.Int32
	var failSync atomic.Bool
	q.syncWAL = func() error {
		syncs.Add(1)
		if failSync.Load() {
			return errors.New("disk gone")
		}
		return db.SyncWAL()
	}
	submit := func(id string) chan error {
		done := make(chan error, 1)
		b := Batch{Events: []Event{{Event: usage.Event{MessageID: id, UserID: "u1", Event: "Login", Timestamp: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}, ContextGroupID: "acc1"}}}
		go func() { done <- q.Submit(ctx, b) }()
		return done
	}
	stored := func() int64 {
		t.Helper()
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitStored := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); stored() != n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d events stored, want %d", stored(), n)
			}
		}
	}

	first := submit("e1")
	<-reached // committed, not synced
	if n := stored(); n != 1 {
		t.Fatalf("%d events stored before the sync, want 1", n)
	}
	second := submit("e2")
	waitStored(2) // written while the first round waits for its sync
	select {
	case err := <-first:
		t.Fatalf("round 1 answered (%v) before its sync", err)
	default:
	}
	if syncs.Load() != 0 {
		t.Fatalf("%d syncs before the release", syncs.Load())
	}
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatalf("round 1: %v", err)
	}
	<-reached
	release <- struct{}{}
	if err := <-second; err != nil {
		t.Fatalf("round 2: %v", err)
	}

	failSync.Store(true)
	third := submit("e3")
	<-reached
	release <- struct{}{}
	if err := <-third; err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("round with a failed sync: %v", err)
	}
	failSync.Store(false)
	again := submit("e3")
	<-reached
	release <- struct{}{}
	if err := <-again; err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := stored(); n != 3 {
		t.Fatalf("%d events stored after the retry, want 3", n)
	}
	if err := q.Close(ctx); err != nil { // applies the rollup journal
		t.Fatal(err)
	}
	var rolled int64
	if err := db.QueryRowContext(ctx, `SELECT SUM(count) FROM usage_daily`).Scan(&rolled); err != nil || rolled != 3 {
		t.Fatalf("rollups count %d, %v; want 3", rolled, err)
	}
}
