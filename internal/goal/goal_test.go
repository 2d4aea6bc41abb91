package goal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/goal"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// fixture: users kei and mio; accounts a1 (kei's) and a2 (mio's) paying
// 100 USD a month from 2025-10-01, a2 stopping on 2026-02-01. Month-end
// MRR: 200 from October to January, 100 in February and March; kei's book
// 100 throughout.
func fixture(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, e := range []string{"kei@example.com", "mio@example.com"} {
		if _, err := user.Create(ctx, db, e, e, user.RoleManager, "secret-password-1"); err != nil {
			t.Fatal(err)
		}
	}
	end := date("2026-02-01")
	for _, a := range []struct {
		id, owner string
		end       *time.Time
	}{{"a1", "kei@example.com", nil}, {"a2", "mio@example.com", &end}} {
		if err := account.Upsert(ctx, db, account.Account{ID: a.id, Name: a.id, OwnerEmail: a.owner}); err != nil {
			t.Fatal(err)
		}
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s_" + a.id, AccountID: a.id,
			Start: date("2025-10-01"), End: a.end, MRRMinor: 10000, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
	}
}

func newGoal(id string) goal.Goal {
	return goal.Goal{ID: id, Name: "Grow MRR", Metric: "mrr", Target: 300, Start: date("2026-01-01"),
		Deadline: date("2026-12-31"), Owner: "Kei@Example.com"}
}

func TestCreateValidate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		now := date("2026-04-10")
		top, err := goal.Create(ctx, db, newGoal("company"), now)
		if err != nil {
			t.Fatal(err)
		}
		if top.Owner != "kei@example.com" || top.Direction != goal.AtLeast || top.Baseline != nil || top.ParentID != "" {
			t.Errorf("created %+v", top)
		}
		churn := newGoal("churn")
		churn.Metric, churn.Target, churn.ParentID, churn.Deadline = "churn_rate", 0.02, "company", date("2026-09-30")
		c, err := goal.Create(ctx, db, churn, now)
		if err != nil {
			t.Fatal(err)
		}
		if c.Metric != "logo_churn_rate" || c.Direction != goal.AtMost || c.ParentID != "company" {
			t.Errorf("alias and default direction: %+v", c)
		}
		nrr := newGoal("nrr")
		nrr.Metric, nrr.Direction = "NRR", ""
		if n, err := goal.Create(ctx, db, nrr, now); err != nil || n.Metric != "nrr_12m" || n.Direction != goal.AtLeast {
			t.Errorf("nrr: %+v %v", n, err)
		}
		grand := newGoal("grand")
		grand.ParentID, grand.Deadline = "churn", date("2026-06-30")
		if _, err := goal.Create(ctx, db, grand, now); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name, field, message string
			change               func(g *goal.Goal)
		}{
			{"bad id", "id", `"Big Goal": use lower-case letters`, func(g *goal.Goal) { g.ID = "Big Goal" }},
			{"no name", "name", "required", func(g *goal.Goal) { g.Name = " " }},
			{"unknown metric", "metric", `unknown metric "revenue": use one of mrr, arr, customers,`, func(g *goal.Goal) { g.Metric = "revenue" }},
			{"bad direction", "direction", `"up" is not at_least or at_most`, func(g *goal.Goal) { g.Direction = "up" }},
			{"deadline first", "deadline", "2025-12-31 is before the start date 2026-01-01", func(g *goal.Goal) { g.Deadline = date("2025-12-31") }},
			{"no owner", "owner_email", "required", func(g *goal.Goal) { g.Owner = "" }},
			{"unknown owner", "owner_email", "no user ghost@example.com", func(g *goal.Goal) { g.Owner = "ghost@example.com" }},
			{"unknown parent", "parent_id", `no goal "nope"`, func(g *goal.Goal) { g.ParentID = "nope" }},
			{"parent due first", "parent_id", "the parent's deadline 2026-09-30 is before this goal's 2026-12-31", func(g *goal.Goal) { g.ParentID = "churn" }},
			{"scope without value", "scope.value", "required with scope.by owner", func(g *goal.Goal) { g.Scope.By = "owner" }},
			{"unknown scope", "scope.by", `"plan" is not one of owner, tier`, func(g *goal.Goal) { g.Scope = goal.GoalScope{By: "plan", Value: "x"} }},
			{"scoped onboarding", "scope.by", "business-wide only", func(g *goal.Goal) {
				g.Metric, g.Scope = "onboarding_completion_rate", goal.GoalScope{By: "tier", Value: "smb"}
			}},
		} {
			g := newGoal("x")
			tc.change(&g)
			_, err := goal.Create(ctx, db, g, now)
			var ve *goal.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !strings.Contains(ve.Message, tc.message) {
				t.Errorf("%s: %v, want %s: …%s…", tc.name, err, tc.field, tc.message)
			}
		}
		if _, err := goal.Create(ctx, db, newGoal("company"), now); !errors.Is(err, goal.ErrExists) {
			t.Errorf("duplicate: %v", err)
		}

		// company → churn → grand: making company grand's child is a cycle.
		cyc := newGoal("company")
		cyc.ParentID, cyc.Deadline = "grand", date("2026-06-30")
		var ve *goal.ValidationError
		if _, err := goal.Update(ctx, db, cyc, now); !errors.As(err, &ve) || ve.Field != "parent_id" || !strings.Contains(ve.Message, "cycle") {
			t.Errorf("cycle: %v", err)
		}
		early := newGoal("company")
		early.Deadline = date("2026-08-31")
		if _, err := goal.Update(ctx, db, early, now); !errors.As(err, &ve) || ve.Field != "deadline" ||
			ve.Message != `child goal "churn" is due after 2026-08-31: move its deadline first` {
			t.Errorf("parent due before a child: %v", err)
		}
		if _, err := goal.Update(ctx, db, newGoal("ghost"), now); !errors.Is(err, goal.ErrNotFound) {
			t.Errorf("update unknown: %v", err)
		}
		up := newGoal("company")
		up.Target, up.Baseline, up.Start = 400, ptr(150), time.Time{}
		if g, err := goal.Update(ctx, db, up, now); err != nil || g.Target != 400 || g.Baseline == nil || *g.Baseline != 150 ||
			!g.Start.Equal(date("2026-01-01")) {
			t.Errorf("update: %+v %v", g, err)
		}

		if err := goal.Delete(ctx, db, "company"); !errors.Is(err, goal.ErrHasChildren) || !strings.Contains(err.Error(), "(churn)") {
			t.Errorf("delete a parent: %v", err)
		}
		for _, id := range []string{"grand", "churn", "company"} {
			if err := goal.Delete(ctx, db, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := goal.Delete(ctx, db, "company"); !errors.Is(err, goal.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
		list, err := goal.List(ctx, db)
		if err != nil || len(list) != 1 || list[0].ID != "nrr" {
			t.Errorf("left: %+v %v", list, err)
		}
	})
}

// TestReport tracks goals on the fixture's MRR: the actuals are the metrics
// table's month-ends, for the business and for kei's book.
func TestReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixture(t, db)
		now := date("2026-04-10") // March is the last complete month
		parent := newGoal("company")
		parent.Target, parent.Start = 250, date("2025-12-01")
		if _, err := goal.Create(ctx, db, parent, now); err != nil {
			t.Fatal(err)
		}
		kei := newGoal("kei-book")
		kei.ParentID, kei.Target, kei.Scope = "company", 100, goal.GoalScope{By: "owner", Value: "kei@example.com"}
		if _, err := goal.Create(ctx, db, kei, now); err != nil {
			t.Fatal(err)
		}
		tr, _, err := goal.ReportOne(ctx, db, "company", now, goal.Direct(db))
		if err != nil {
			t.Fatal(err)
		}
		// Baseline month November (the start is in December), six months
		// back from March is October: October to March.
		var got []float64
		for _, p := range tr.Tracking.Actuals {
			got = append(got, *p.Value)
		}
		if want := []float64{200, 200, 200, 200, 100, 100}; !equal(got, want) {
			t.Errorf("actuals %v, want %v", got, want)
		}
		table, err := metrics.Compute(ctx, db, metrics.Options{From: date("2025-10-01"), To: date("2026-03-01")})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range table.Rows {
			if tr.Tracking.Actuals[i].Month != r.Month || *tr.Tracking.Actuals[i].Value != r.MRR {
				t.Errorf("month %d: %+v, metrics say %s %v", i, tr.Tracking.Actuals[i], r.Month, r.MRR)
			}
		}
		// Baseline November 200; latest March 100: (100 − 200) / (250 − 200) = −200%.
		// Trend over x = 0..5 of 200, 200, 200, 200, 100, 100: x̄ = 2.5, ȳ = 500/3,
		// Sxy = (−2.5 −1.5 −0.5 + 0.5)(100/3) + (1.5 + 2.5)(−200/3) = −400, Sxx = 17.5,
		// slope −22.857…; December is 9 months after March: way below 250.
		if tr.Tracking.Status != goal.StatusOffTrack || !near(tr.Tracking.Baseline, 200) || !near(tr.Tracking.Progress, -200) ||
			tr.Tracking.Trend == nil || !near(&tr.Tracking.Trend.Slope, -400/17.5) {
			t.Errorf("tracking %+v trend %+v", tr.Tracking, tr.Tracking.Trend)
		}
		if len(tr.Children) != 1 || tr.Children[0].ID != "kei-book" || tr.Children[0].Status != goal.StatusAchieved ||
			!near(tr.Children[0].Latest, 100) {
			t.Errorf("children %+v", tr.Children)
		}
		all, _, err := goal.Report(ctx, mustList(t, db), now, goal.Direct(db))
		if err != nil || len(all) != 2 || all[0].ID != "company" || all[0].Depth != 0 || all[1].ID != "kei-book" || all[1].Depth != 1 {
			t.Errorf("report %+v %v", all, err)
		}
	})
}

func mustList(t *testing.T, db *store.DB) []goal.Goal {
	t.Helper()
	l, err := goal.List(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
