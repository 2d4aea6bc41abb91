package onboarding_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestDemo evaluates the demo's own onboarding definition (truth.go's
// OnboardingDefinition, as a rule) on the demo data: the completers must be
// exactly the accounts the generator onboarded, and they must churn less,
// as planted (Effects.Onboarding).
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a demo database; runs without -short, as .ci/run does")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
		start := time.Now()
		truth, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.4, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("demo: %v", time.Since(start))
		// Trial prospects have no subscription: not onboarded customers.
		save(t, db, "setup_done && login_week_rate >= 0.6", "tenure_days > 0", 30)
		start = time.Now()
		st := run(t, db, now, nil)
		t.Logf("onboarding stage: %v, %d results, %d rule failures", time.Since(start), st.Evaluated, st.Failures)
		if st.Failures != 0 {
			t.Errorf("%d rule failures", st.Failures)
		}

		// The truth's population: customers signed up at least 35 days ago.
		var completed, missed int
		rows, err := db.QueryContext(ctx, `SELECT status, COUNT(*) FROM onboarding_results WHERE signup_day <= $1 AND status IN ('completed', 'missed') GROUP BY status`,
			store.Day(now.Unix())-35)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			var n int
			if err := rows.Scan(&s, &n); err != nil {
				t.Fatal(err)
			}
			if s == "completed" {
				completed = n
			} else {
				missed = n
			}
		}
		rows.Close()
		e := truth.Effects.Onboarding
		t.Logf("completed %d, missed %d; truth: onboarded %d (%.4f churn/month), rest %d (%.4f), rate ratio %v",
			completed, missed, e.InGroup.Accounts, e.InGroup.MonthlyRate, e.Rest.Accounts, e.Rest.MonthlyRate, *e.RateRatio)
		if completed != e.InGroup.Accounts || missed != e.Rest.Accounts {
			t.Errorf("completed %d, missed %d; truth says %d onboarded, %d not", completed, missed, e.InGroup.Accounts, e.Rest.Accounts)
		}

		rep, err := onboarding.BuildReport(ctx, db, now)
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Churn
		t.Logf("report: completion rate %.4f over %d closed windows, median time to value %v days; churn: completed %+v %.4f/month, missed %+v %.4f/month, ratio %.3f",
			*rep.Overall.CompletionRate, rep.Overall.Closed, *rep.Overall.MedianDaysToValue, c.Completed, *c.Completed.MonthlyChurnRate,
			c.Missed, *c.Missed.MonthlyChurnRate, *c.RateRatio)
		for _, g := range rep.Tiers {
			t.Logf("tier %s: %d accounts, completion %.3f, median ttv %v", g.Group, g.Accounts, *g.CompletionRate, *g.MedianDaysToValue)
		}
		// The report's windows closed 30 days after signup, the truth's
		// population 35: a few more accounts, the same ratio within 0.05.
		if c.RateRatio == nil || *c.RateRatio >= 1 || math.Abs(*c.RateRatio-*e.RateRatio) > 0.05 {
			t.Errorf("churn rate ratio of completers %v, truth %v: want below 1 and within 0.05", c.RateRatio, *e.RateRatio)
		}
		if rep.NotEvaluated != 0 {
			t.Errorf("%d accounts not evaluated", rep.NotEvaluated)
		}
	})
}
