package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// recorder is a stage that sends every batch it is given (ids and
// events_30d of each account) to seen.
type recorder struct{ seen chan []snapshot.Snapshot }

func (recorder) Name() string { return "recorder" }

func (r recorder) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	r.seen <- slices.Clone(snaps)
	return nil
}

func start(t testing.TB, db *store.DB, cfg jobs.Config) *jobs.Jobs {
	t.Helper()
	ctx := context.Background()
	for range 2 { // idempotent: serve runs it at every start
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	j, err := jobs.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := j.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return j
}

func ids(snaps []snapshot.Snapshot) []string {
	var out []string
	for _, s := range snaps {
		out = append(out, s.AccountID)
	}
	return out
}

// A new event posted through the ingestion queue reaches the recompute
// stages, with the event in the snapshot; a burst of changes becomes one
// job. How long it takes (the figure: within 5 s) is
// BenchmarkEventToHealth's (through the real stages); the test only logs it.
func TestEventToRecompute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"acc-1", "acc-2", "acc-3"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		seen := make(chan []snapshot.Snapshot, 16)
		j := start(t, db, jobs.Config{RecomputeEvery: -1, Stages: func(context.Context, store.Querier, bool) ([]recompute.Stage, error) {
			return []recompute.Stage{recorder{seen}}, nil
		}})
		q := ingest.New(db, ingest.Options{Linger: -1, Changed: j.Changed})
		defer q.Close(ctx)
		ts := time.Now().UTC()
		posted := time.Now()
		if err := q.Submit(ctx, ingest.Batch{Events: []ingest.Event{
			{Event: usage.Event{MessageID: "m1", UserID: "u1", Event: "reports", Timestamp: ts}, ContextGroupID: "acc-2"},
			{Event: usage.Event{MessageID: "m2", UserID: "u1", Event: "reports", Timestamp: ts}, ContextGroupID: "acc-2"},
		}}); err != nil {
			t.Fatal(err)
		}
		// More changes within the debounce join the same job.
		j.Changed([]string{"acc-3"})
		jobs.Changed(ctx, []string{"acc-2", "nope"})
		select {
		case b := <-seen:
			took := time.Since(posted)
			if got := ids(b); !reflect.DeepEqual(got, []string{"acc-2", "acc-3"}) {
				t.Errorf("recomputed %v, want [acc-2 acc-3]", got)
			}
			if b[0].Events30d != 2 || b[0].Usage30d["reports"] != 2 {
				t.Errorf("acc-2 snapshot: events_30d %v, usage %v; want the 2 new events", b[0].Events30d, b[0].Usage30d)
			}
			t.Logf("event to recompute: %v", took)
		case <-time.After(60 * time.Second): // a hang, not a slow machine
			t.Fatal("no recompute within 60 s of the event")
		}
		select {
		case b := <-seen:
			t.Errorf("a second recompute %v: the burst should be one job", ids(b))
		case <-time.After(1500 * time.Millisecond):
		}
		done, err := jobs.List(ctx, db, jobs.ListOptions{Kinds: []string{jobs.KindRecomputeAccounts}})
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 1 || done[0].State != "completed" || !sameJSON(t, done[0].Args, `{"account_ids":["acc-2","acc-3","nope"]}`) {
			t.Errorf("recompute jobs %+v", done)
		}
	})
}

// recompute_all runs once at start, over every account.
func TestRecomputeAllAtStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"b", "a", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		seen := make(chan []snapshot.Snapshot, 16)
		start(t, db, jobs.Config{Stages: func(context.Context, store.Querier, bool) ([]recompute.Stage, error) {
			return []recompute.Stage{recorder{seen}}, nil
		}})
		select {
		case b := <-seen:
			if got := ids(b); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
				t.Errorf("recompute_all saw %v", got)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no recompute_all within 20 s of start")
		}
	})
}

// ChangedAll, without a running queue, does nothing; with one, it queues
// one recompute_all over every account, and a second asked for while the
// first waits is the same job.
func TestChangedAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"b", "a"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		jobs.ChangedAll(ctx) // no queue runs yet (nor are its tables there)
		seen := make(chan []snapshot.Snapshot, 16)
		j := start(t, db, jobs.Config{RecomputeEvery: -1, Stages: func(context.Context, store.Querier, bool) ([]recompute.Stage, error) {
			return []recompute.Stage{recorder{seen}}, nil
		}})
		select {
		case b := <-seen:
			t.Fatalf("a recompute of %v before any was asked for", ids(b))
		case <-time.After(500 * time.Millisecond):
		}
		jobs.ChangedAll(ctx)
		if err := j.ChangedAll(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-seen:
			if got := ids(b); !reflect.DeepEqual(got, []string{"a", "b"}) {
				t.Errorf("recompute_all saw %v, want [a b]", got)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no recompute_all within 20 s of ChangedAll")
		}
		list, err := jobs.List(ctx, db, jobs.ListOptions{Kinds: []string{jobs.KindRecomputeAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Errorf("%d recompute_all jobs, want 1: %+v", len(list), list)
		}
	})
}

// A failing delivery is retried with growing delays until it succeeds; one
// that keeps failing is discarded after its attempts and listed with its
// errors.
func TestDeliverRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		type try struct {
			id           string
			attempt, max int
			at           time.Time
		}
		var mu sync.Mutex
		var tries []try
		ok := make(chan struct{})
		j := start(t, db, jobs.Config{RecomputeEvery: -1, DeliverMaxAttempts: 3, RetryBase: 200 * time.Millisecond,
			Deliver: func(ctx context.Context, id string, attempt, max int) error {
				mu.Lock()
				defer mu.Unlock()
				tries = append(tries, try{id, attempt, max, time.Now()})
				if id == "d-ok" && attempt == 3 {
					close(ok)
					return nil
				}
				return fmt.Errorf("endpoint answered 503 (attempt %d)", attempt)
			}})
		for _, id := range []string{"d-ok", "d-bad"} {
			if err := db.InTx(ctx, func(tx *sql.Tx) error { return j.Deliver(ctx, tx, id) }); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-ok:
		case <-time.After(30 * time.Second):
			t.Fatal("d-ok not delivered within 30 s")
		}
		deadline := time.Now().Add(30 * time.Second)
		var discarded []jobs.Job
		for {
			var err error
			if discarded, err = jobs.List(ctx, db, jobs.ListOptions{States: []string{"discarded"}, Kinds: []string{jobs.KindDeliver}}); err != nil {
				t.Fatal(err)
			}
			if len(discarded) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(discarded) != 1 || !sameJSON(t, discarded[0].Args, `{"delivery_id":"d-bad"}`) || discarded[0].Attempt != 3 || discarded[0].MaxAttempts != 3 ||
			len(discarded[0].Errors) != 3 || discarded[0].Errors[2].Error != "endpoint answered 503 (attempt 3)" {
			t.Fatalf("discarded %+v", discarded)
		}
		mu.Lock()
		defer mu.Unlock()
		var okTries []try
		for _, tr := range tries {
			if tr.id == "d-ok" {
				okTries = append(okTries, tr)
			}
			if tr.max != 3 {
				t.Errorf("try %+v: max %d, want 3", tr, tr.max)
			}
		}
		if len(okTries) != 3 || okTries[0].attempt != 1 || okTries[2].attempt != 3 {
			t.Fatalf("d-ok tries %+v", okTries)
		}
		// Backoff: at least 0.9 × 200 ms before the 2nd try, 0.9 × 400 ms before the 3rd.
		if d := okTries[1].at.Sub(okTries[0].at); d < 180*time.Millisecond {
			t.Errorf("first retry after %v", d)
		}
		if d := okTries[2].at.Sub(okTries[1].at); d < 360*time.Millisecond {
			t.Errorf("second retry after %v", d)
		}
		if _, err := jobs.List(ctx, db, jobs.ListOptions{States: []string{"failed"}}); err == nil {
			t.Error("state failed: no error")
		}
		if _, err := jobs.List(ctx, db, jobs.ListOptions{Kinds: []string{"email"}}); err == nil {
			t.Error("kind email: no error")
		}
	})
}

// sameJSON compares JSON texts by value (PostgreSQL's jsonb respaces them).
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("args %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(a, b)
}

// A second recompute_all while one waits is refused (unique); once it has
// completed, the next period's is accepted.
func TestRecomputeAllUnique(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		j, err := jobs.New(db, jobs.Config{RecomputeEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		c := j.Client()
		first, err := c.Insert(ctx, jobs.RecomputeAllArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		second, err := c.Insert(ctx, jobs.RecomputeAllArgs{}, nil)
		if err != nil || !second.UniqueSkippedAsDuplicate || second.Job.ID != first.Job.ID {
			t.Fatalf("second insert: %v, %+v", err, second)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer j.Stop(ctx)
		deadline := time.Now().Add(15 * time.Second)
		for {
			done, err := jobs.List(ctx, db, jobs.ListOptions{States: []string{"completed"}, Kinds: []string{jobs.KindRecomputeAll}})
			if err != nil {
				t.Fatal(err)
			}
			if len(done) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("recompute_all not completed within 15 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		third, err := c.Insert(ctx, jobs.RecomputeAllArgs{}, nil)
		if err != nil || third.UniqueSkippedAsDuplicate {
			t.Fatalf("insert after completion: %v, %+v", err, third)
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		u    float64
		want time.Duration
	}{
		{1, 0.5, 15 * time.Second},                       // the base, no jitter at u = 0.5
		{2, 0.5, 30 * time.Second},                       // doubled
		{4, 0.5, 120 * time.Second},                      // 15 × 2³
		{1, 0, 13500 * time.Millisecond},                 // −10 %
		{20, 0.5, 6 * time.Hour},                         // capped
		{8, 0.999999, time.Duration(1920e9 * 1.0999998)}, // +10 % (almost)
	} {
		if got := jobs.Backoff(15*time.Second, 6*time.Hour, tc.n, tc.u); got != tc.want {
			t.Errorf("delay(%d, %v) = %v, want %v", tc.n, tc.u, got, tc.want)
		}
	}
}

// TestQueueDelivery: the package function queues through the running queue
// (the API's retry), and reports that nothing was queued when none runs.
func TestQueueDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			queued, err := jobs.QueueDelivery(ctx, tx, "d0")
			if queued {
				t.Error("queued with no queue running")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		start(t, db, jobs.Config{RecomputeEvery: -1, Deliver: func(ctx context.Context, id string, attempt, max int) error {
			got <- id
			return nil
		}})
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			queued, err := jobs.QueueDelivery(ctx, tx, "d1")
			if !queued {
				t.Error("not queued with the queue running")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-got:
			if id != "d1" {
				t.Errorf("delivered %q, want d1", id)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the queued delivery did not run within 5 s")
		}
	})
}
