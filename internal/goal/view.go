package goal

import (
	"context"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// GoalSummary is a goal's headline: what a parent shows of each child.
type GoalSummary struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Metric   string    `json:"metric"`
	Owner    string    `json:"owner_email"`
	Target   float64   `json:"target"`
	Deadline time.Time `json:"deadline"`
	Latest   *float64  `json:"latest"`
	Progress *float64  `json:"progress"`
	Forecast *float64  `json:"forecast"`
	Status   string    `json:"status"`
}

// TrackedGoal is a goal with its tracking and its children's summaries.
type TrackedGoal struct {
	Goal
	Tracking GoalTracking  `json:"tracking"`
	Children []GoalSummary `json:"children" doc:"The goals whose parent this is, soonest deadline first."`
	// Depth is the goal's level in the tree (0 for a top-level goal).
	Depth int `json:"-"`
}

// Summary is t's headline.
func (t TrackedGoal) Summary() GoalSummary {
	s := GoalSummary{ID: t.ID, Name: t.Name, Metric: t.Metric, Owner: t.Owner, Target: t.Target,
		Deadline: t.Deadline, Progress: t.Tracking.Progress, Forecast: t.Tracking.Forecast, Status: t.Tracking.Status}
	if t.Tracking.Latest != nil {
		s.Latest = t.Tracking.Latest.Value
	}
	return s
}

// Cache is how [Report] gets actuals: LoadActuals, or a caller's cache of
// it (the dashboard's), for the months and scopes asked.
type Cache func(ctx context.Context, from, to time.Time, scopes []GoalScope) (*Actuals, error)

// Direct loads the actuals without caching.
func Direct(q store.Querier) Cache {
	return func(ctx context.Context, from, to time.Time, scopes []GoalScope) (*Actuals, error) {
		return LoadActuals(ctx, q, from, to, scopes)
	}
}

// Report tracks every goal of goals at now, in tree order (each parent
// followed by its children, soonest deadline first at each level), with
// their children's summaries. Goals whose parent is not among goals are
// roots.
func Report(ctx context.Context, goals []Goal, now time.Time, load Cache) ([]TrackedGoal, *Actuals, error) {
	if len(goals) == 0 {
		return []TrackedGoal{}, &Actuals{}, nil
	}
	lo, hi := 0, 0
	var scopes []GoalScope
	for i, g := range goals {
		l, h, _ := window(g, now)
		if i == 0 || l < lo {
			lo = l
		}
		if i == 0 || h > hi {
			hi = h
		}
		scopes = append(scopes, g.Scope)
	}
	a, err := load(ctx, monthTime(lo), monthTime(hi), scopes)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]*TrackedGoal{}
	tracked := make([]TrackedGoal, len(goals))
	for i, g := range goals {
		tracked[i] = TrackedGoal{Goal: g, Tracking: Track(g, a, now), Children: []GoalSummary{}}
		byID[g.ID] = &tracked[i]
	}
	kids := map[string][]*TrackedGoal{}
	var roots []*TrackedGoal
	for i := range tracked {
		t := &tracked[i]
		if _, ok := byID[t.ParentID]; ok {
			kids[t.ParentID] = append(kids[t.ParentID], t)
		} else {
			roots = append(roots, t)
		}
	}
	out := make([]TrackedGoal, 0, len(tracked))
	var walk func(t *TrackedGoal, depth int)
	walk = func(t *TrackedGoal, depth int) {
		for _, c := range kids[t.ID] {
			t.Children = append(t.Children, c.Summary())
		}
		t.Depth = depth
		out = append(out, *t)
		for _, c := range kids[t.ID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out, a, nil
}

// ReportOne tracks the goal id with its children.
func ReportOne(ctx context.Context, q store.Querier, id string, now time.Time, load Cache) (TrackedGoal, *Actuals, error) {
	g, err := Get(ctx, q, id)
	if err != nil {
		return TrackedGoal{}, nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM kpi_goals WHERE parent_id = $1 ORDER BY deadline_day, goal_id`, id)
	if err != nil {
		return TrackedGoal{}, nil, err
	}
	children, err := store.Collect(rows, scan)
	if err != nil {
		return TrackedGoal{}, nil, err
	}
	list, a, err := Report(ctx, append([]Goal{g}, children...), now, load)
	if err != nil {
		return TrackedGoal{}, nil, err
	}
	// g's parent is not in the list, so g is the first root.
	return list[0], a, nil
}
