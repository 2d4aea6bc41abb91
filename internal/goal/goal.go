// Package goal owns KPI goals (DESIGN.md C14): SMART targets on any metric
// — a target value to reach (at least) or to stay under (at most) by a
// deadline, with an owner and an optional parent goal — tracked against
// the metric's month-end actuals, with a linear forecast to the deadline
// and a status. Not to be confused with a success plan's goals
// (internal/successplan), which are a customer's.
//
// # Actuals and forecast
//
// A goal's actuals are the metric's values at the end of each complete
// month, computed by internal/metrics exactly as the metrics page shows
// them (over the goal's scope: the whole business, one owner's accounts or
// one tier). The baseline is the goal's own, or else the actual at the end
// of the month before the start date. The deadline is judged on the
// figures of the month it falls in. The forecast is the ordinary
// least-squares line through the latest [TrendPoints] month-end actuals
// that have a value (at least [MinTrendPoints]; before the start date when
// the goal is younger than that), evaluated at the end of the deadline
// month. The status follows from them (see [Evaluate]).
package goal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// Directions of a goal.
const (
	AtLeast = "at_least" // the metric should reach the target or more
	AtMost  = "at_most"  // the metric should come down to the target or less
)

// Errors callers tell apart.
var (
	ErrNotFound    = errors.New("goal not found")
	ErrExists      = errors.New("a goal with this id already exists")
	ErrHasChildren = errors.New("the goal has child goals")
)

// ValidationError is a field that is not allowed; Field is its JSON name.
type ValidationError struct{ Field, Message string }

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Goal is a KPI goal.
type Goal struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Metric      string    `json:"metric" doc:"A metric key of kizuna metrics monthly (with --extended), arr, nps, csat or ces."`
	Scope       GoalScope `json:"scope"`
	Target      float64   `json:"target" doc:"In the metric's unit: rates as fractions (0.02 for 2%), amounts in the reporting currency."`
	Direction   string    `json:"direction" enum:"at_least,at_most"`
	Baseline    *float64  `json:"baseline,omitempty" doc:"Where progress is measured from; absent: the actual at the end of the month before the start."`
	// Start and Deadline are dates (00:00 UTC).
	Start     time.Time `json:"start_date"`
	Deadline  time.Time `json:"deadline"`
	Owner     string    `json:"owner_email"`
	ParentID  string    `json:"parent_id,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,99}$`)

// Normalize trims the fields, resolves a metric alias, lower-cases the
// owner, and fills the direction from the metric when it is empty.
func (g *Goal) Normalize() {
	g.ID, g.Name, g.Description = strings.TrimSpace(g.ID), strings.TrimSpace(g.Name), strings.TrimSpace(g.Description)
	g.Owner, g.ParentID = strings.ToLower(strings.TrimSpace(g.Owner)), strings.TrimSpace(g.ParentID)
	g.Scope.By, g.Scope.Value = strings.TrimSpace(g.Scope.By), strings.TrimSpace(g.Scope.Value)
	if g.Scope.By == "owner" {
		g.Scope.Value = strings.ToLower(g.Scope.Value)
	}
	g.Metric = strings.ToLower(strings.TrimSpace(g.Metric))
	if m, ok := LookupMetric(g.Metric); ok {
		g.Metric = m.Key
		if g.Direction == "" {
			g.Direction = AtLeast
			if m.LowerIsBetter {
				g.Direction = AtMost
			}
		}
	}
	g.Start, g.Deadline = g.Start.UTC().Truncate(24*time.Hour), g.Deadline.UTC().Truncate(24*time.Hour)
}

// Validate checks a normalized goal on its own (not against other goals
// or users: see [Create]); the error names the first bad field.
func Validate(g Goal) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	m, known := LookupMetric(g.Metric)
	switch {
	case g.ID == "":
		return invalid("id", "required")
	case !idPattern.MatchString(g.ID):
		return invalid("id", "%q: use lower-case letters, digits, - and _, starting with a letter or digit (at most 100)", g.ID)
	case g.Name == "":
		return invalid("name", "required")
	case len(g.Name) > 200:
		return invalid("name", "at most 200 bytes")
	case len(g.Description) > 5000:
		return invalid("description", "at most 5000 bytes")
	case g.Metric == "":
		return invalid("metric", "required: one of %s", strings.Join(MetricKeys(), ", "))
	case !known:
		return invalid("metric", "unknown metric %q: use one of %s", g.Metric, strings.Join(MetricKeys(), ", "))
	case g.Scope.By != "" && !slices.Contains(Scopes, g.Scope.By):
		return invalid("scope.by", "%q is not one of %s", g.Scope.By, strings.Join(Scopes, ", "))
	case g.Scope.By != "" && g.Scope.Value == "":
		return invalid("scope.value", "required with scope.by %s: the %s to compute the metric over", g.Scope.By, g.Scope.By)
	case g.Scope.By == "" && g.Scope.Value != "":
		return invalid("scope.by", "required with scope.value: owner or tier")
	case g.Scope.By != "" && m.Key == "onboarding_completion_rate":
		return invalid("scope.by", "onboarding_completion_rate is business-wide only")
	case !finite(g.Target):
		return invalid("target", "not a finite number")
	case g.Direction != AtLeast && g.Direction != AtMost:
		return invalid("direction", "%q is not at_least or at_most", g.Direction)
	case g.Baseline != nil && !finite(*g.Baseline):
		return invalid("baseline", "not a finite number")
	case g.Start.IsZero():
		return invalid("start_date", "required")
	case g.Deadline.IsZero():
		return invalid("deadline", "required")
	case g.Deadline.Before(g.Start):
		return invalid("deadline", "%s is before the start date %s", g.Deadline.Format(time.DateOnly), g.Start.Format(time.DateOnly))
	case g.Owner == "":
		return invalid("owner_email", "required: the email of a Kizuna user")
	case g.ParentID == g.ID:
		return invalid("parent_id", "a goal cannot be its own parent")
	}
	return nil
}

// check validates g against the database: the owner is a user, the
// parent exists, is not g or one of its descendants, and its deadline is
// not before g's; and g's own children's deadlines are not after g's.
func check(ctx context.Context, q store.Querier, g Goal) error {
	if _, err := user.GetByEmail(ctx, q, g.Owner); errors.Is(err, user.ErrNotFound) {
		return invalid("owner_email", "no user %s", g.Owner)
	} else if err != nil {
		return err
	}
	if g.ParentID != "" {
		parent, err := Get(ctx, q, g.ParentID)
		if errors.Is(err, ErrNotFound) {
			return invalid("parent_id", "no goal %q", g.ParentID)
		}
		if err != nil {
			return err
		}
		if parent.Deadline.Before(g.Deadline) {
			return invalid("parent_id", "the parent's deadline %s is before this goal's %s: a child goal serves its parent, so it is due no later",
				parent.Deadline.Format(time.DateOnly), g.Deadline.Format(time.DateOnly))
		}
		// Walk up from the parent: meeting g means g would be its own ancestor.
		for id, hops := parent.ParentID, 0; id != ""; hops++ {
			if id == g.ID || hops > 1000 {
				return invalid("parent_id", "%q is a descendant of %q: that would make a cycle", g.ParentID, g.ID)
			}
			var next sql.NullString
			if err := q.QueryRowContext(ctx, `SELECT parent_id FROM kpi_goals WHERE goal_id = $1`, id).Scan(&next); err != nil {
				return fmt.Errorf("goal %s: parent chain: %w", g.ID, err)
			}
			id = next.String
		}
	}
	var late sql.NullString
	err := q.QueryRowContext(ctx, `SELECT MIN(goal_id) FROM kpi_goals WHERE parent_id = $1 AND deadline_day > $2`,
		g.ID, store.Day(g.Deadline.Unix())).Scan(&late)
	if err != nil {
		return fmt.Errorf("goal %s: children: %w", g.ID, err)
	}
	if late.Valid {
		return invalid("deadline", "child goal %q is due after %s: move its deadline first", late.String, g.Deadline.Format(time.DateOnly))
	}
	return nil
}

const columns = `goal_id, name, description, metric, scope_by, scope_value, target, direction, baseline, start_day,
	deadline_day, owner_email, parent_id, created_by, created_at, updated_at`

func scan(row interface{ Scan(...any) error }) (Goal, error) {
	var (
		g                       Goal
		baseline                sql.NullFloat64
		parent                  sql.NullString
		start, deadline, c, upd int64
	)
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &g.Metric, &g.Scope.By, &g.Scope.Value, &g.Target, &g.Direction,
		&baseline, &start, &deadline, &g.Owner, &parent, &g.CreatedBy, &c, &upd); err != nil {
		return g, err
	}
	if baseline.Valid {
		g.Baseline = &baseline.Float64
	}
	g.ParentID = parent.String
	g.Start, g.Deadline = time.Unix(start*86400, 0).UTC(), time.Unix(deadline*86400, 0).UTC()
	g.CreatedAt, g.UpdatedAt = time.Unix(c, 0).UTC(), time.Unix(upd, 0).UTC()
	return g, nil
}

// Get returns one goal.
func Get(ctx context.Context, q store.Querier, id string) (Goal, error) {
	g, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM kpi_goals WHERE goal_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return g, fmt.Errorf("goal %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return g, fmt.Errorf("get goal %s: %w", id, err)
	}
	return g, nil
}

// List returns every goal, soonest deadline first.
func List(ctx context.Context, q store.Querier) ([]Goal, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM kpi_goals ORDER BY deadline_day, goal_id`)
	if err != nil {
		return nil, fmt.Errorf("list goals: %w", err)
	}
	list, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list goals: %w", err)
	}
	return list, nil
}

func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

// Create stores a new goal (normalized and validated); an empty start date
// is today's.
func Create(ctx context.Context, q store.Querier, g Goal, now time.Time) (Goal, error) {
	if g.Start.IsZero() {
		g.Start = now
	}
	g.Normalize()
	if err := Validate(g); err != nil {
		return g, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM kpi_goals WHERE goal_id = $1`, g.ID).Scan(&n); err != nil {
		return g, fmt.Errorf("create goal %s: %w", g.ID, err)
	}
	if n > 0 {
		return g, fmt.Errorf("goal %q: %w", g.ID, ErrExists)
	}
	if err := check(ctx, q, g); err != nil {
		return g, err
	}
	ts := now.UTC().Unix()
	if _, err := q.ExecContext(ctx, `INSERT INTO kpi_goals (`+columns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
		g.ID, g.Name, g.Description, g.Metric, g.Scope.By, g.Scope.Value, g.Target, g.Direction, g.Baseline,
		store.Day(g.Start.Unix()), store.Day(g.Deadline.Unix()), g.Owner, nullable(g.ParentID), g.CreatedBy, ts); err != nil {
		return g, fmt.Errorf("create goal %s: %w", g.ID, err)
	}
	return Get(ctx, q, g.ID)
}

// Update replaces a goal's definition and returns it; an empty start date
// keeps the stored one.
func Update(ctx context.Context, q store.Querier, g Goal, now time.Time) (Goal, error) {
	before, err := Get(ctx, q, strings.TrimSpace(g.ID))
	if err != nil {
		return g, err
	}
	if g.Start.IsZero() {
		g.Start = before.Start
	}
	g.CreatedBy = before.CreatedBy
	g.Normalize()
	if err := Validate(g); err != nil {
		return g, err
	}
	if err := check(ctx, q, g); err != nil {
		return g, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE kpi_goals SET name = $2, description = $3, metric = $4, scope_by = $5,
		scope_value = $6, target = $7, direction = $8, baseline = $9, start_day = $10, deadline_day = $11, owner_email = $12,
		parent_id = $13, updated_at = $14 WHERE goal_id = $1`,
		g.ID, g.Name, g.Description, g.Metric, g.Scope.By, g.Scope.Value, g.Target, g.Direction, g.Baseline,
		store.Day(g.Start.Unix()), store.Day(g.Deadline.Unix()), g.Owner, nullable(g.ParentID), now.UTC().Unix()); err != nil {
		return g, fmt.Errorf("update goal %s: %w", g.ID, err)
	}
	return Get(ctx, q, g.ID)
}

// Delete removes a goal. A goal with children is refused (ErrHasChildren,
// naming them): they would lose the goal they serve without anyone deciding
// what they serve now.
func Delete(ctx context.Context, q store.Querier, id string) error {
	rows, err := q.QueryContext(ctx, `SELECT goal_id FROM kpi_goals WHERE parent_id = $1 ORDER BY goal_id`, id)
	if err != nil {
		return fmt.Errorf("delete goal %s: %w", id, err)
	}
	children, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
	if err != nil {
		return fmt.Errorf("delete goal %s: %w", id, err)
	}
	if len(children) > 0 {
		return fmt.Errorf("goal %q: %w (%s): delete them or give them another parent first", id, ErrHasChildren, strings.Join(children, ", "))
	}
	res, err := q.ExecContext(ctx, `DELETE FROM kpi_goals WHERE goal_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete goal %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("goal %q: %w", id, ErrNotFound)
	}
	return nil
}
