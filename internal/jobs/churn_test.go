package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// syncBuffer is a log sink the workers write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// churnJobsDone waits until n churn_retrain jobs have completed.
func churnJobsDone(t *testing.T, db *store.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		list, err := jobs.List(context.Background(), db, jobs.ListOptions{Kinds: []string{jobs.KindChurnRetrain}, States: []string{"completed"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %d completed churn_retrain jobs after 45 s", n)
}

func churnJobs(t *testing.T, db *store.DB, log *syncBuffer) {
	t.Helper()
	start(t, db, jobs.Config{RecomputeEvery: -1, ChurnCheckEvery: time.Hour,
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))})
}

func countScores(t *testing.T, db *store.DB) (current, history int) {
	t.Helper()
	ctx := context.Background()
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM churn_scores`).Scan(&current); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM churn_score_history`).Scan(&history); err != nil {
		t.Fatal(err)
	}
	return current, history
}

// TestChurnRetrainJob: at start the churn_retrain job trains on the demo
// business (none stored yet) and stores every paying account's score, as
// of now; the snapshot then carries them as churn_risk.
func TestChurnRetrainJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		if _, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.1, Now: now}); err != nil {
			t.Fatal(err)
		}
		var paying int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT account_id) FROM subscription_periods
			WHERE mrr_minor > 0 AND start_at <= $1 AND (end_at IS NULL OR end_at > $1)`, time.Now().Unix()).Scan(&paying); err != nil {
			t.Fatal(err)
		}
		var log syncBuffer
		churnJobs(t, db, &log)
		churnJobsDone(t, db, 1)
		current, history := countScores(t, db)
		if current == 0 || current != paying || history != current {
			t.Errorf("%d current and %d history scores; want one for each of the %d paying accounts", current, history, paying)
		}
		if !strings.Contains(log.String(), "jobs: churn model retrained") {
			t.Errorf("log: %s", log.String())
		}
		last, err := churn.LastScored(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if d := last.Sub(now); d < -time.Second || d > time.Minute {
			t.Errorf("scored at %s, the test started at %s", last, now)
		}
		scores, err := churn.Scores(ctx, db)
		if err != nil || len(scores) == 0 {
			t.Fatalf("scores: %v", err)
		}
		snap, err := snapshot.Get(ctx, db, scores[0].AccountID, time.Now())
		if err != nil || snap.ChurnRisk != scores[0].Probability {
			t.Errorf("snapshot of %s: churn_risk %v (%v), stored %v", scores[0].AccountID, snap.ChurnRisk, err, scores[0].Probability)
		}
		var actor string
		if err := db.QueryRowContext(ctx, `SELECT actor FROM audit_log WHERE object_type = 'churn_scores'`).Scan(&actor); err != nil || actor != "job:churn_retrain" {
			t.Errorf("audit actor %q, %v", actor, err)
		}
		// The new scores are every snapshot's churn_risk: a recompute of
		// every account is queued (this queue runs no periodic one).
		if n := countJobs(t, db, jobs.KindRecomputeAll); n != 1 {
			t.Errorf("%d recompute_all jobs after the retrain, want 1", n)
		}
	})
}

// countJobs counts the jobs of kind, in any state.
func countJobs(t *testing.T, db *store.DB, kind string) int {
	t.Helper()
	list, err := jobs.List(context.Background(), db, jobs.ListOptions{Kinds: []string{kind}})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestChurnRetrainJobSkips: with too little history the job logs why and
// stores nothing; with a scoring newer than churn.retrain_days it does not
// train at all.
func TestChurnRetrainJobSkips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		var log syncBuffer
		churnJobs(t, db, &log)
		churnJobsDone(t, db, 1)
		if !strings.Contains(log.String(), "jobs: churn retrain skipped: too little history") {
			t.Errorf("log: %s", log.String())
		}
		if current, history := countScores(t, db); current != 0 || history != 0 {
			t.Errorf("%d scores stored", current+history)
		}
		if n := countJobs(t, db, jobs.KindRecomputeAll); n != 0 {
			t.Errorf("%d recompute_all jobs after a skipped retrain, want 0", n)
		}
	})
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		if _, err := churn.SetSetting(ctx, db, churn.SettingRetrainDays, "3"); err != nil {
			t.Fatal(err)
		}
		yesterday := time.Now().Add(-24 * time.Hour)
		if _, err := churn.StoreScores(ctx, db, []churn.Risk{{AccountID: "a", Probability: 0.5}}, yesterday.AddDate(0, 0, -90), yesterday); err != nil {
			t.Fatal(err)
		}
		var log syncBuffer
		churnJobs(t, db, &log)
		churnJobsDone(t, db, 1)
		if strings.Contains(log.String(), "churn retrain skipped") || strings.Contains(log.String(), "retrained") {
			t.Errorf("trained although the last scoring is a day old and the interval 3 days: %s", log.String())
		}
		if last, err := churn.LastScored(ctx, db); err != nil || !last.Equal(yesterday.Truncate(time.Second).UTC()) {
			t.Errorf("last scored %s, %v; want %s", last, err, yesterday)
		}
	})
}
