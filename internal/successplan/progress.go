package successplan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Progress is how far a goal's criterion is, on the current snapshot.
type GoalProgress struct {
	Percent float64  `json:"percent" doc:"0–100: a rule is 0 or 100; a metric is (value − baseline) / (target − baseline), clamped; manual is manual_percent; an achieved goal is 100."`
	Met     bool     `json:"met" doc:"The criterion is met (or the goal was marked achieved)."`
	Value   *float64 `json:"value,omitempty" doc:"A metric's current value."`
	From    string   `json:"from" enum:"data,manual" doc:"data: evaluated on the current snapshot; manual: kept by hand."`
	Error   string   `json:"error,omitempty" doc:"Why the criterion could not be evaluated (it is then 0%)."`
}

// Evaluate computes g's progress on s, the account's current snapshot (nil
// when there is none: data-tracked criteria are then unevaluated). A goal
// marked achieved by hand counts as met whatever the data says: the
// customer and the CSM agreed it is.
func Evaluate(g PlanGoal, s *snapshot.Snapshot) GoalProgress {
	p := GoalProgress{From: "data"}
	switch g.Tracking {
	case TrackManual:
		p = GoalProgress{From: "manual", Percent: g.ManualPercent, Met: g.ManualPercent >= 100}
	case TrackRule, TrackMetric:
		if s == nil {
			p.Error = "no snapshot of the account"
			break
		}
		if g.Tracking == TrackRule {
			r, err := rule.Compile(g.Rule, rule.Bool)
			if err == nil {
				p.Met, err = r.Match(s)
			}
			if err != nil {
				p.Error = err.Error()
				break
			}
			if p.Met {
				p.Percent = 100
			}
			break
		}
		r, err := rule.Compile(g.Metric, rule.Number)
		var v float64
		if err == nil {
			v, err = r.Value(s)
		}
		if err != nil {
			p.Error = err.Error()
			break
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			p.Error = fmt.Sprintf("the metric is %v", v)
			break
		}
		p.Value = &v
		if g.Target != nil {
			p.Percent, p.Met = metricProgress(v, baseline(g), *g.Target)
		}
	}
	if g.Status == GoalAchieved {
		p.Percent, p.Met = 100, true
	}
	return p
}

// metricProgress is the share of the way from base to target that v has
// gone, in percent (clamped to 0–100, rounded to 0.1), and whether v has
// reached target in its direction.
func metricProgress(v, base, target float64) (float64, bool) {
	f := (v - base) / (target - base)
	met := f >= 1
	f = max(0, min(1, f))
	return math.Round(f*1000) / 10, met
}

// PlanGoalView is a goal with its progress.
type PlanGoalView struct {
	PlanGoal
	Progress GoalProgress `json:"progress"`
}

// PlanMilestoneView is a milestone with whether it is overdue.
type PlanMilestoneView struct {
	PlanMilestone
	Overdue bool `json:"overdue" doc:"Open and past its due date."`
}

// PlanView is a plan with its goals evaluated and its milestones.
type PlanView struct {
	SuccessPlan
	Goals      []PlanGoalView      `json:"goals"`
	Milestones []PlanMilestoneView `json:"milestones"`
	// Progress is the mean percent of the agreed and achieved goals: the
	// number the customer sees.
	Progress    *float64  `json:"progress,omitempty" doc:"Mean percent of the agreed and achieved goals; absent when there are none."`
	EvaluatedAt time.Time `json:"evaluated_at" doc:"The instant of the snapshot the criteria were evaluated on."`
}

// Load returns an account's plan with every goal evaluated on the
// account's snapshot at now (computed only when a goal needs data).
func Load(ctx context.Context, q store.Querier, accountID string, now time.Time) (PlanView, error) {
	p, err := GetPlan(ctx, q, accountID)
	if err != nil {
		return PlanView{}, err
	}
	goals, err := Goals(ctx, q, accountID)
	if err != nil {
		return PlanView{}, err
	}
	ms, err := Milestones(ctx, q, accountID)
	if err != nil {
		return PlanView{}, err
	}
	var snap *snapshot.Snapshot
	for _, g := range goals {
		if g.Tracking != TrackManual {
			s, err := snapshot.Get(ctx, q, accountID, now)
			if err != nil && !errors.Is(err, snapshot.ErrNotFound) {
				return PlanView{}, fmt.Errorf("success plan of %s: %w", accountID, err)
			}
			if err == nil {
				snap = &s
			}
			break
		}
	}
	return build(p, goals, ms, snap, now), nil
}

func build(p SuccessPlan, goals []PlanGoal, ms []PlanMilestone, snap *snapshot.Snapshot, now time.Time) PlanView {
	v := PlanView{SuccessPlan: p, Goals: make([]PlanGoalView, len(goals)), Milestones: make([]PlanMilestoneView, len(ms)), EvaluatedAt: nowUTC(now)}
	var sum float64
	var n int
	for i, g := range goals {
		v.Goals[i] = PlanGoalView{PlanGoal: g, Progress: Evaluate(g, snap)}
		if g.Shared() {
			sum += v.Goals[i].Progress.Percent
			n++
		}
	}
	if n > 0 {
		mean := math.Round(sum/float64(n)*10) / 10
		v.Progress = &mean
	}
	for i, m := range ms {
		v.Milestones[i] = PlanMilestoneView{PlanMilestone: m, Overdue: m.Overdue(now)}
	}
	return v
}

// Public is what the customer's shared page shows: the agreed and achieved
// goals with their progress, and the milestones of those goals, without
// the criteria's expressions or anything else about the account.
func (v PlanView) Public() PlanView {
	out := PlanView{SuccessPlan: v.SuccessPlan, Progress: v.Progress, EvaluatedAt: v.EvaluatedAt, Goals: []PlanGoalView{}, Milestones: []PlanMilestoneView{}}
	shown := map[string]bool{}
	for _, g := range v.Goals {
		if !g.Shared() {
			continue
		}
		shown[g.ID] = true
		g.Rule, g.Metric = "", ""
		g.Progress.Error = ""
		out.Goals = append(out.Goals, g)
	}
	for _, m := range v.Milestones {
		if shown[m.GoalID] {
			out.Milestones = append(out.Milestones, m)
		}
	}
	return out
}
