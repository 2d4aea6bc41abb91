package health_test

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestDemoBacktest builds a small demo and back-tests the default model it
// installs: the planted churn drivers must make it rank churn with AUC ≥ 0.75.
func TestDemoBacktest(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a demo database; runs without -short, as .ci/run does")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
		start := time.Now()
		if _, err := demo.Generate(ctx, db, demo.Config{Seed: 7, Scale: 0.3, Now: now}); err != nil {
			t.Fatal(err)
		}
		t.Logf("demo: %v", time.Since(start))
		m, err := health.GetModel(ctx, db, "default")
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		bt, err := health.RunBacktest(ctx, db, m, now)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("back-test: %v: auc %v over %d observations, %d churned, %d dates", time.Since(start), *bt.AUC, bt.Accounts, bt.Churned, len(bt.Dates))
		if bt.AUC == nil || *bt.AUC < 0.75 {
			t.Errorf("AUC = %v, want ≥ 0.75", bt.AUC)
		}
		if want := 32; len(bt.Dates) < want {
			t.Errorf("%d as-of dates, want at least %d over 36 months", len(bt.Dates), want)
		}
	})
}
