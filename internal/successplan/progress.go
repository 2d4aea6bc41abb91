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
type Progress struct {
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
func Evaluate(g Goal, s *snapshot.Snapshot) Progress {
	p := Progress{From: "data"}
	switch g.Tracking {
	case TrackManual:
		p = Progress{From: "manual", Percent: g.ManualPercent, Met: g.ManualPercent >= 100}
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

// GoalView is a goal with its progress.
type GoalView struct {
	Goal
	Progress Progress `json:"progress"`
}

// MilestoneView is a milestone with whether it is overdue.
type MilestoneView struct {
	Milestone
	Overdue bool `json:"overdue" doc:"Open and past its due date."`
}

// View is a plan with its goals evaluated and its milestones.
type View struct {
	Plan
	Goals      []GoalView      `json:"goals"`
	Milestones []MilestoneView `json:"milestones"`
	// Progress is the mean percent of the agreed and achieved goals: the
	// number the customer sees.
	Progress    *float64  `json:"progress,omitempty" doc:"Mean percent of the agreed and achieved goals; absent when there are none."`
	EvaluatedAt time.Time `json:"evaluated_at" doc:"The instant of the snapshot the criteria were evaluated on."`
}

// Load returns an account's plan with every goal evaluated on the
// account's snapshot at now (computed only when a goal needs data).
func Load(ctx context.Context, q store.Querier, accountID string, now time.Time) (View, error) {
	p, err := GetPlan(ctx, q, accountID)
	if err != nil {
		return View{}, err
	}
	goals, err := Goals(ctx, q, accountID)
	if err != nil {
		return View{}, err
	}
	ms, err := Milestones(ctx, q, accountID)
	if err != nil {
		return View{}, err
	}
	var snap *snapshot.Snapshot
	for _, g := range goals {
		if g.Tracking != TrackManual {
			s, err := snapshot.Get(ctx, q, accountID, now)
			if err != nil && !errors.Is(err, snapshot.ErrNotFound) {
				return View{}, fmt.Errorf("success plan of %s: %w", accountID, err)
			}
			if err == nil {
				snap = &s
			}
			break
		}
	}
	return build(p, goals, ms, snap, now), nil
}

func build(p Plan, goals []Goal, ms []Milestone, snap *snapshot.Snapshot, now time.Time) View {
	v := View{Plan: p, Goals: make([]GoalView, len(goals)), Milestones: make([]MilestoneView, len(ms)), EvaluatedAt: nowUTC(now)}
	var sum float64
	var n int
	for i, g := range goals {
		v.Goals[i] = GoalView{Goal: g, Progress: Evaluate(g, snap)}
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
		v.Milestones[i] = MilestoneView{Milestone: m, Overdue: m.Overdue(now)}
	}
	return v
}

// Public is what the customer's shared page shows: the agreed and achieved
// goals with their progress, and the milestones of those goals, without
// the criteria's expressions or anything else about the account.
func (v View) Public() View {
	out := View{Plan: v.Plan, Progress: v.Progress, EvaluatedAt: v.EvaluatedAt, Goals: []GoalView{}, Milestones: []MilestoneView{}}
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
