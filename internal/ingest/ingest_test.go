package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

func batch(prefix string, n int, ts time.Time) ingest.Batch {
	var b ingest.Batch
	for i := 0; i < n; i++ {
		b.Events = append(b.Events, ingest.Event{Event: usage.Event{MessageID: fmt.Sprintf("%s-%d", prefix, i), UserID: "u",
			Event: "e", Timestamp: ts}, ContextGroupID: "acc"})
	}
	return b
}

func countEvents(t *testing.T, db *store.DB) int64 {
	t.Helper()
	n, err := usage.CountEvents(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Concurrent submissions are written together, and nobody is answered
// before the commit.
func TestGroupCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const subs = 20
		var returned atomic.Int32
		var mu sync.Mutex
		var rounds [][2]int
		q := ingest.New(db, ingest.Options{Linger: 200 * time.Millisecond, MaxBatch: 100_000, OnCommit: func(s, calls int) {
			// Committed, not yet acknowledged.
			if r := returned.Load(); r != 0 {
				t.Errorf("%d submitters returned before the commit", r)
			}
			if n := countEvents(t, db); n != int64(calls) {
				t.Errorf("at commit: %d events stored, want %d", n, calls)
			}
			mu.Lock()
			rounds = append(rounds, [2]int{s, calls})
			mu.Unlock()
		}})
		defer q.Close(context.Background())
		var wg sync.WaitGroup
		ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < subs; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := q.Submit(context.Background(), batch(fmt.Sprint(i), 10, ts)); err != nil {
					t.Error(err)
				}
				returned.Add(1)
			}()
		}
		wg.Wait()
		if len(rounds) != 1 || rounds[0] != [2]int{subs, subs * 10} {
			t.Fatalf("rounds (submissions, calls) = %v; want one round of %d, %d", rounds, subs, subs*10)
		}
		if n := countEvents(t, db); n != subs*10 {
			t.Fatalf("events = %d", n)
		}
	})
}

// A batch that fails does not fail the others written with it.
func TestFallbackOneByOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var rounds atomic.Int32
		q := ingest.New(db, ingest.Options{Linger: 200 * time.Millisecond, OnCommit: func(int, int) { rounds.Add(1) }})
		defer q.Close(context.Background())
		ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		errs := make([]error, 5)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := batch(fmt.Sprint(i), 3, ts)
				if i == 2 {
					b.Events[1].Timestamp = time.Unix(1<<50, 0) // out of the rollups' day range
				}
				errs[i] = q.Submit(context.Background(), b)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (err != nil) != (i == 2) {
				t.Errorf("submission %d: %v", i, err)
			}
		}
		if n := countEvents(t, db); n != 12 {
			t.Fatalf("events = %d, want 12", n)
		}
	})
}

// Close drains what was accepted, then refuses.
func TestCloseDrains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		q := ingest.New(db, ingest.Options{Linger: 50 * time.Millisecond})
		ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := q.Submit(context.Background(), batch(fmt.Sprint(i), 5, ts)); err != nil {
					t.Error(err)
				}
			}()
		}
		for q.Depth() < 50 {
			time.Sleep(time.Millisecond)
		}
		if err := q.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if n := countEvents(t, db); n != 50 {
			t.Fatalf("events after Close = %d, want 50", n)
		}
		if err := q.Submit(context.Background(), batch("late", 1, ts)); !errors.Is(err, ingest.ErrClosed) {
			t.Fatalf("Submit after Close: %v", err)
		}
	})
}
