package playbook

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Counts are what a playbook has done so far: its firings that were acted
// on, those drawn into the holdout group, and the tasks it created that are
// still open or in progress.
type Counts struct {
	ActedOn   int `json:"acted_on"`
	HeldOut   int `json:"held_out"`
	OpenTasks int `json:"open_tasks"`
}

// CountsByPlaybook returns the counts of every playbook that has fired or
// has open tasks, by playbook id (a playbook that never fired is absent).
func CountsByPlaybook(ctx context.Context, q store.Querier) (map[string]Counts, error) {
	out := map[string]Counts{}
	rows, err := q.QueryContext(ctx, `SELECT playbook_id, holdout, COUNT(*) FROM enrollments GROUP BY playbook_id, holdout`)
	if err != nil {
		return nil, fmt.Errorf("count enrollments: %w", err)
	}
	type group struct {
		id      string
		holdout int64
		n       int
	}
	groups, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (group, error) {
		var g group
		return g, r.Scan(&g.id, &g.holdout, &g.n)
	})
	if err != nil {
		return nil, fmt.Errorf("count enrollments: %w", err)
	}
	for _, g := range groups {
		c := out[g.id]
		if g.holdout != 0 {
			c.HeldOut += g.n
		} else {
			c.ActedOn += g.n
		}
		out[g.id] = c
	}
	rows, err = q.QueryContext(ctx, `SELECT playbook_id, COUNT(*) FROM tasks
		WHERE playbook_id IS NOT NULL AND status IN ('open', 'in_progress') GROUP BY playbook_id`)
	if err != nil {
		return nil, fmt.Errorf("count playbook tasks: %w", err)
	}
	open, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (group, error) {
		var g group
		return g, r.Scan(&g.id, &g.n)
	})
	if err != nil {
		return nil, fmt.Errorf("count playbook tasks: %w", err)
	}
	for _, g := range open {
		c := out[g.id]
		c.OpenTasks = g.n
		out[g.id] = c
	}
	return out, nil
}
