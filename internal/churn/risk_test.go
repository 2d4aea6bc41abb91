package churn_test

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// riskRuns stores two scoring runs for accounts a, b and c: on March 1
// a 0.8, b 0.3 (c not paying, unscored); on March 10 a 0.2, b 0.6.
func riskRuns(t *testing.T, db *store.DB) (run1, run2 time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id, OwnerEmail: "csm@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	run1 = time.Date(2025, 3, 1, 6, 0, 0, 0, time.UTC)
	run2 = time.Date(2025, 3, 10, 6, 0, 0, 0, time.UTC)
	for _, r := range []struct {
		at    time.Time
		risks []churn.Risk
	}{
		{run1, []churn.Risk{{AccountID: "a", Probability: 0.8}, {AccountID: "b", Probability: 0.3}}},
		{run2, []churn.Risk{{AccountID: "a", Probability: 0.2}, {AccountID: "b", Probability: 0.6,
			Reasons: []churn.Reason{{Feature: "used_30d.reports", Value: 0, Contribution: 0.5}}}}},
	} {
		if _, err := churn.StoreScores(ctx, db, r.risks, r.at.AddDate(0, 0, -90), r.at); err != nil {
			t.Fatal(err)
		}
	}
	return run1, run2
}

// TestChurnRiskInRules: a rule over churn_risk matches by the run stored
// as of the snapshot's instant.
func TestChurnRiskInRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		run1, run2 := riskRuns(t, db)
		r, err := rule.Compile(`churn_risk >= 0.5`, rule.Bool)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rule.Compile(`churn_risk > "high"`, rule.Bool); err == nil {
			t.Error("churn_risk compared with a string compiles: the type checker does not know it as a number")
		}
		for _, c := range []struct {
			at   time.Time
			want []string
		}{
			{run1.Add(-time.Hour), nil},
			{run1.Add(time.Hour), []string{"a"}},
			{run2.Add(time.Hour), []string{"b"}},
		} {
			snaps, err := snapshot.All(ctx, db, c.at)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range snaps {
				ok, err := r.Match(&snaps[i])
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					got = append(got, snaps[i].AccountID)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("at %s: %v match, want %v", c.at.Format(time.DateTime), got, c.want)
			}
		}
	})
}

// TestChurnRiskInHealth: a health measure over churn_risk (linear, risk 1
// scores 0, risk 0 scores 100), left out where there is no score, gives
// a 80, b 40, and c the neutral 50 in the recompute after run 2.
func TestChurnRiskInHealth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, run2 := riskRuns(t, db)
		if _, err := health.SaveModel(ctx, db, health.Model{ID: "default", Measures: []health.Measure{
			{Name: "Churn risk", Field: "churn_risk", Linear: &health.Linear{From: 1, To: 0}, Weight: 1, When: "churn_risk >= 0"},
		}}, true); err != nil {
			t.Fatal(err)
		}
		st, err := health.NewStage(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recompute.Run(ctx, db, run2.Add(time.Hour), recompute.Options{Stages: []recompute.Stage{st}}); err != nil {
			t.Fatal(err)
		}
		cur, err := health.Current(ctx, db, []string{"a", "b", "c"})
		if err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]float64{"a": 80, "b": 40, "c": 50} {
			if got := cur[id].Score; math.Abs(got-want) > 1e-9 {
				t.Errorf("%s: health %v, want %v", id, got, want)
			}
		}
	})
}

// TestChurnRiskInPlaybooks: a rule trigger on churn_risk fires when the
// stored risk crosses it: for a after run 1, for b after run 2.
func TestChurnRiskInPlaybooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		run1, run2 := riskRuns(t, db)
		p := playbook.Playbook{ID: "churn_risk", Name: "Churn risk", Enabled: true,
			Trigger: playbook.Trigger{Type: playbook.TriggerRule, Condition: "churn_risk >= 0.5"},
			Actions: []playbook.Action{{Type: playbook.ActionTask, Title: "Churn risk {{printf \"%.2f\" .Account.ChurnRisk}}"}}}
		if _, _, err := playbook.Save(ctx, db, p, run1.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		var titles []string
		fired := func(at time.Time) []string {
			t.Helper()
			st, err := playbook.NewStage(ctx, db, playbook.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := recompute.Run(ctx, db, at, recompute.Options{Stages: []recompute.Stage{st}}); err != nil {
				t.Fatal(err)
			}
			es, err := playbook.Enrollments(ctx, db, playbook.EnrollmentFilter{PlaybookID: "churn_risk", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range es {
				if e.FiredAt.Equal(at) {
					ids = append(ids, e.AccountID)
					var title string
					if err := db.QueryRowContext(ctx, `SELECT title FROM tasks WHERE task_id = $1`, e.TaskID).Scan(&title); err != nil {
						t.Errorf("%s: task %q: %v", e.AccountID, e.TaskID, err)
					}
					titles = append(titles, title)
				}
			}
			return ids
		}
		if got := fired(run1.Add(-time.Hour)); got != nil {
			t.Errorf("before any scoring: fired for %v", got)
		}
		if got := fired(run1.Add(time.Hour)); !reflect.DeepEqual(got, []string{"a"}) {
			t.Errorf("after run 1: fired for %v, want [a]", got)
		}
		if got := fired(run2.Add(time.Hour)); !reflect.DeepEqual(got, []string{"b"}) {
			t.Errorf("after run 2: fired for %v, want [b]", got)
		}
		if want := []string{"Churn risk 0.80", "Churn risk 0.60"}; !reflect.DeepEqual(titles, want) {
			t.Errorf("task titles %q, want %q", titles, want)
		}
	})
}
