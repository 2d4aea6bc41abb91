package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/goal"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestDemoGoals: the demo's goals form the tree the manager set (company
// NRR with a child per tier, logo churn, NPS), dated around the demo's
// now, and every one of them has month-end actuals from the demo's data,
// the tier goals over their tier only.
func TestDemoGoals(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	generate(t, db, 1, 0.05)
	list, err := goal.List(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	report, _, err := goal.Report(ctx, list, anchor, goal.Direct(db))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	latest := map[string]float64{}
	for _, g := range report {
		order = append(order, g.ID)
		if g.Tracking.Latest == nil {
			t.Errorf("%s has no actual", g.ID)
			continue
		}
		latest[g.ID] = *g.Tracking.Latest.Value
		if g.Start.Format(time.DateOnly) != "2026-03-01" || g.Tracking.Latest.Month != "2026-05" && g.Metric != "nps" {
			t.Errorf("%s: start %s, latest %s", g.ID, g.Start.Format(time.DateOnly), g.Tracking.Latest.Month)
		}
	}
	// Tree order: top-level goals by deadline (then id), each followed by
	// its children.
	want := []string{demo.ChurnGoal, demo.NPSGoal, demo.NRRGoal, "nrr-enterprise", "nrr-mid-market", "nrr-smb"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("goals %v, want %v", order, want)
	}
	if got := report[2]; len(got.Children) != 3 || got.Children[0].ID != "nrr-enterprise" || report[3].Depth != 1 {
		t.Errorf("company NRR's children %+v", got.Children)
	}
	// Enterprise accounts churn least (the demo's planted hazards), so their
	// NRR is above the small business tier's.
	if latest["nrr-enterprise"] <= latest["nrr-smb"] {
		t.Errorf("NRR: enterprise %v, smb %v", latest["nrr-enterprise"], latest["nrr-smb"])
	}
}
