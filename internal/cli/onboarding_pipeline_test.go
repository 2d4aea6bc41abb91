package cli

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/ingest"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestOnboardingMilestoneThroughIngest: a tracked event goes through the
// Segment ingestion queue, whose hook queues the recompute of its account;
// the job's pipeline completes the milestone of that event.
func TestOnboardingMilestoneThroughIngest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signup := time.Now().UTC().AddDate(0, 0, -3)
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme", SignupAt: &signup}); err != nil {
			t.Fatal(err)
		}
		if _, err := onboarding.PutMilestone(ctx, db, onboarding.ChecklistMilestone{ID: "first_report", Name: "First report", Event: "reports", Position: 1}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		j, err := jobs.New(db, jobs.Config{
			Stages: func(ctx context.Context, q store.Querier, partial bool) ([]recompute.Stage, error) {
				return pipeline(nil)(ctx, q, partial)
			},
			RecomputeEvery: -1, Debounce: 50 * time.Millisecond, PollInterval: 50 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := j.Stop(sctx); err != nil {
				t.Error(err)
			}
		}()
		q := ingest.New(db, ingest.Options{Changed: func(ids []string) { jobs.Changed(context.Background(), ids) }})
		now := time.Now().UTC()
		if err := q.Submit(ctx, ingest.Batch{Events: []ingest.Event{{Event: usage.Event{MessageID: "m1", UserID: "u1", Event: "reports", Timestamp: now},
			ContextGroupID: "a"}}}); err != nil {
			t.Fatal(err)
		}
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for {
			list, err := onboarding.Checklist(ctx, db, "a")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 1 && list[0].Done {
				if list[0].Source != "event" || !list[0].At.Equal(time.Unix(store.Day(now.Unix())*86400, 0)) {
					t.Errorf("item %+v", list[0])
				}
				t.Logf("milestone done %s after the event", time.Since(start))
				break
			}
			if time.Since(start) > 60*time.Second { // a hang, not a slow machine
				t.Fatalf("milestone not done within 60 s: %+v", list)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
