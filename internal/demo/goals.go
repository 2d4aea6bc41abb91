package demo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/goal"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Demo goal ids, for tests.
const (
	NRRGoal   = "nrr-company"
	ChurnGoal = "logo-churn"
	NPSGoal   = "nps"
)

// demoGoals are the business's KPI goals as its CS manager would set them
// a quarter ago for the end of the fiscal year: company NRR with one child
// per tier (owned by a CSM of that tier), logo churn to bring down, and NPS.
// Dates are relative to the demo's now, so the goals stay current.
func (w *world) demoGoals() []goal.Goal {
	month := time.Date(w.cfg.Now.Year(), w.cfg.Now.Month(), 1, 0, 0, 0, 0, time.UTC)
	start := month.AddDate(0, -3, 0)
	yearEnd := month.AddDate(0, 9, -1) // the last day of the ninth month from now's
	half := month.AddDate(0, 6, -1)
	const manager = "haruka.mori@example.com"
	tier := func(id, name, value, owner string, target float64) goal.Goal {
		return goal.Goal{ID: id, Name: name, Metric: "nrr_12m", Target: target, Start: start, Deadline: half, Owner: owner,
			ParentID: NRRGoal, Scope: goal.GoalScope{By: "tier", Value: value},
			Description: "The " + value + " book's share of the company NRR goal."}
	}
	return []goal.Goal{
		{ID: NRRGoal, Name: "Net revenue retention 100%", Metric: "nrr_12m", Target: 1.00, Start: start, Deadline: yearEnd,
			Owner: manager, Description: "Grow revenue from the customers we have: expansion must outrun churn and contraction."},
		tier("nrr-enterprise", "Enterprise NRR 105%", "enterprise", "aiko.tanaka@example.com", 1.05),
		tier("nrr-mid-market", "Mid-market NRR 95%", "mid-market", "yuki.sato@example.com", 0.95),
		tier("nrr-smb", "SMB NRR 85%", "smb", "emma.schulz@example.com", 0.85),
		{ID: ChurnGoal, Name: "Monthly logo churn at most 2.5%", Metric: "logo_churn_rate", Target: 0.025, Start: start,
			Deadline: half, Owner: manager, Description: "Fewer customers lost each month, above all in the tech-touch tier."},
		{ID: NPSGoal, Name: "NPS 30", Metric: "nps", Target: 30, Start: start, Deadline: yearEnd, Owner: manager,
			Description: "More promoters than detractors by a clear margin in the monthly survey."},
	}
}

// writeGoals stores the demo goals (parents first).
func (w *world) writeGoals(ctx context.Context, db *store.DB) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		for _, g := range w.demoGoals() {
			g.CreatedBy = LoginEmail
			if _, err := goal.Create(ctx, tx, g, w.cfg.Now); err != nil {
				return fmt.Errorf("demo goals: %w", err)
			}
		}
		return nil
	})
}
