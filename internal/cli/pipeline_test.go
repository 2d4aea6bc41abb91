package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestPipelineThroughJobs runs the server's job queue with the whole
// pipeline: a change makes the account red, the health_band playbook fires,
// its webhook fails twice and is retried with backoff until it arrives
// signed; then new usage turns the account green. The waits are bounds on a
// hang, not figures: jobs' BenchmarkEventToHealth measures the time.
func TestPipelineThroughJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s", AccountID: "a",
			Start: time.Now().AddDate(0, -3, 0), MRRMinor: 10000, Currency: "USD", Plan: "pro"}); err != nil {
			t.Fatal(err)
		}
		if _, err := health.SaveModel(ctx, db, health.Model{ID: "default", Measures: []health.Measure{
			{Name: "activity", Field: "events_30d", Thresholds: []health.Threshold{{Min: 0, Score: 0}, {Min: 10, Score: 100}}, Weight: 1},
		}}, true); err != nil {
			t.Fatal(err)
		}

		var mu sync.Mutex
		var calls []time.Time
		var body []byte
		var signature string
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, time.Now())
			if len(calls) <= 2 {
				http.Error(w, "busy", http.StatusBadGateway)
				return
			}
			body, signature = b, r.Header.Get(notify.SignatureHeader)
		}))
		defer hook.Close()
		if _, _, err := playbook.Save(ctx, db, playbook.Playbook{ID: "red", Name: "Turned red", Enabled: true,
			Trigger: playbook.Trigger{Type: "health_band", Band: "red"},
			Actions: []playbook.Action{{Type: "webhook", URL: hook.URL, Secret: "s3cret"}}}, time.Now()); err != nil {
			t.Fatal(err)
		}

		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		var q *jobs.Jobs
		q, err := jobs.New(db, jobs.Config{
			Stages: func(ctx context.Context, tx store.Querier, partial bool) ([]recompute.Stage, error) {
				return pipeline(queueDeliveries(q))(ctx, tx, partial)
			},
			Deliver: func(ctx context.Context, id string, attempt, max int) error {
				return notify.Deliver(ctx, db, notify.Config{MaxAttempts: max}, id)
			},
			RecomputeEvery: -1, RetryBase: 100 * time.Millisecond, RetryMax: time.Second, Debounce: 50 * time.Millisecond,
			PollInterval: 50 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := q.Stop(sctx); err != nil {
				t.Error(err)
			}
		}()

		band := func() (string, float64) {
			var b string
			var score float64
			if err := db.QueryRowContext(ctx, `SELECT band, score FROM health_current WHERE account_id = 'a'`).Scan(&b, &score); err != nil {
				return "", -1
			}
			return b, score
		}
		waitFor := func(what string, limit time.Duration, ok func() bool) time.Duration {
			t.Helper()
			start := time.Now()
			for !ok() {
				if time.Since(start) > limit {
					t.Fatalf("%s: not within %s", what, limit)
				}
				time.Sleep(20 * time.Millisecond)
			}
			return time.Since(start)
		}

		jobs.Changed(ctx, []string{"a"})
		waitFor("red health", 60*time.Second, func() bool { b, _ := band(); return b == "red" })
		waitFor("the webhook's third attempt", 60*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return body != nil })
		mu.Lock()
		if len(calls) != 3 {
			t.Errorf("webhook called %d times, want 3", len(calls))
		}
		// Backoff: the second retry waits longer than the first (100 ms, then 200 ms, ±10 %).
		if first, second := calls[1].Sub(calls[0]), calls[2].Sub(calls[1]); first < 90*time.Millisecond || second < 180*time.Millisecond {
			t.Errorf("retries after %s and %s, want ≥ 90 ms and ≥ 180 ms", first, second)
		}
		if err := notify.Verify("s3cret", signature, body, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		mu.Unlock()
		// The delivery is recorded sent once the endpoint has answered.
		var ds []notify.Delivery
		waitFor("the delivery recorded sent", 60*time.Second, func() bool {
			ds, err = notify.List(ctx, db, notify.Filter{Status: notify.StatusSent})
			return err != nil || len(ds) > 0
		})
		if err != nil || len(ds) != 1 || ds[0].Attempts != 3 || ds[0].AccountID != "a" {
			t.Errorf("sent deliveries %+v, %v", ds, err)
		}

		// A new day of usage: 12 events today make the activity measure 100.
		if err := usage.AddRollups(ctx, db, "a", []usage.DailyCount{{Day: store.Day(time.Now().Unix()), Event: "reports", Count: 12}}, nil); err != nil {
			t.Fatal(err)
		}
		jobs.Changed(ctx, []string{"a"})
		took := waitFor("green health", 60*time.Second, func() bool { b, s := band(); return b == "green" && s == 100 })
		t.Logf("new usage in health after %s", took)
	})
}
