package ui_test

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/stages"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// demoDay is the day the test demo business is generated for, fixed so
// that pages show the same numbers on every run.
var demoDay = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// demoSite is a site on a small demo business (about 100 customers and a
// few trial prospects, 36 months of history) with every recompute stage
// run as of demoDay, so that pages have scores, stages, segments and
// tasks to show. db is a fresh database (storetest.SQLite or Postgres).
func demoSite(t *testing.T, db *store.DB) *site {
	t.Helper()
	ctx := context.Background()
	if _, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.02, Now: demoDay}); err != nil {
		t.Fatalf("generate the demo: %v", err)
	}
	noQueue := func(context.Context, store.Querier, []string) error { return nil }
	st, err := stages.Builder(noQueue)(ctx, db, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recompute.Run(ctx, db, demoDay.Add(-time.Second), recompute.Options{Stages: st}); err != nil {
		t.Fatalf("recompute the demo: %v", err)
	}
	return newSite(t, db)
}

func TestDemoSite(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	var accounts, scored int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&accounts); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT COUNT(DISTINCT account_id) FROM health_scores`).Scan(&scored); err != nil {
		t.Fatal(err)
	}
	if accounts < 80 || scored < accounts/2 {
		t.Fatalf("the demo site has %d accounts, %d with a health score", accounts, scored)
	}
}
