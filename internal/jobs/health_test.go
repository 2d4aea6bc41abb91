package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/stages"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestEventShowsInHealth: with the real stages, a new event for an account
// shows in its health explanation once the recompute it queues has run,
// even when the score does not move. (A daily run keeps an unchanged
// score's row with the values of its day; the recompute of the accounts
// whose data changed rewrites them.)
func TestEventShowsInHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "acc-1", Name: "acc-1"}); err != nil {
			t.Fatal(err)
		}
		m := health.Model{ID: "default", Name: "Default", Measures: []health.Measure{
			{Name: "Events", Field: "events_30d", Thresholds: []health.Threshold{{Min: 0, Score: 50}, {Min: 100, Score: 100}}, Weight: 1},
		}}
		if _, err := health.SaveModel(ctx, db, m, true); err != nil {
			t.Fatal(err)
		}
		build := stages.Builder(func(context.Context, store.Querier, []string) error { return nil })
		st, err := build(ctx, db, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recompute.Run(ctx, db, time.Now(), recompute.Options{Stages: st}); err != nil {
			t.Fatal(err)
		}
		events := func() (float64, float64) {
			t.Helper()
			h, err := health.GetAccount(ctx, db, "acc-1", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return h.Score, h.Contributions[0].Value
		}
		if score, n := events(); score != 50 || n != 0 {
			t.Fatalf("before the event: score %v, events %v; want 50 and 0", score, n)
		}
		j := start(t, db, jobs.Config{RecomputeEvery: -1, Stages: build})
		q := ingest.New(db, ingest.Options{Linger: -1, Changed: j.Changed})
		defer q.Close(ctx)
		if err := q.Submit(ctx, ingest.Batch{Events: []ingest.Event{
			{Event: usage.Event{MessageID: "m1", UserID: "u1", Event: "reports", Timestamp: time.Now().UTC()}, ContextGroupID: "acc-1"},
		}}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) { // 60 s: a hang, not a slow machine
			score, n := events()
			if n == 1 {
				if score != 50 {
					t.Errorf("after the event: score %v, want 50", score)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the event is not in the account's health 60 s later: events %v", n)
			}
		}
	})
}
