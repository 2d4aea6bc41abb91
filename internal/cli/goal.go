package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/goal"
)

// GoalCmd groups the KPI goal commands.
type GoalCmd struct {
	List   GoalListCmd   `cmd:"" default:"withargs" help:"Every KPI goal (as a tree) with its latest actual, progress, forecast and status."`
	Show   GoalShowCmd   `cmd:"" help:"A KPI goal: its definition, month-end actuals, trend, forecast, status and children."`
	Set    GoalSetCmd    `cmd:"" help:"Create a KPI goal, or change the given fields of an existing one."`
	Delete GoalDeleteCmd `cmd:"" help:"Delete a KPI goal (refused while it has child goals)."`
}

// GoalListCmd lists the goals.
type GoalListCmd struct{ formatFlag }

// Run prints the goals.
func (c GoalListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := goal.List(ctx, db)
	if err != nil {
		return err
	}
	tracked, _, err := goal.Report(ctx, list, time.Now(), goal.Direct(db))
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, tracked)
	}
	for _, t := range tracked {
		fmt.Fprintf(g.stdout, "%-28s %-9s %-22s %s %s by %s  latest %s  progress %s  forecast %s  %s\n",
			strings.Repeat("  ", t.Depth)+t.ID, t.Tracking.Status, t.Metric, directionSign(t.Direction), goalValue(t.Metric, &t.Target),
			t.Deadline.Format(time.DateOnly), goalValue(t.Metric, latestOf(t.Tracking)), percent(t.Tracking.Progress),
			goalValue(t.Metric, t.Tracking.Forecast), t.Name)
	}
	fmt.Fprintf(g.stdout, "%d goals\n", len(tracked))
	return nil
}

func latestOf(t goal.GoalTracking) *float64 {
	if t.Latest == nil {
		return nil
	}
	return t.Latest.Value
}

func directionSign(d string) string {
	if d == goal.AtMost {
		return "≤"
	}
	return "≥"
}

// goalValue formats a metric's value for reading: rates in percent, the
// rest to two decimals at most; "–" for none.
func goalValue(metric string, v *float64) string {
	if v == nil {
		return "–"
	}
	if m, _ := goal.LookupMetric(metric); m.Kind == goal.KindRate {
		return strconv.FormatFloat(100**v, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(math.Round(*v*100)/100, 'f', -1, 64)
}

func percent(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v, 'f', 0, 64) + "%"
}

// GoalShowCmd prints one goal.
type GoalShowCmd struct {
	ID string `arg:"" help:"The goal's id."`
	formatFlag
}

// Run prints the goal.
func (c GoalShowCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	t, _, err := goal.ReportOne(ctx, db, c.ID, time.Now(), goal.Direct(db))
	if err != nil {
		return goalUserError(err)
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, t)
	}
	writeGoal(g.stdout, t)
	return nil
}

func writeGoal(w io.Writer, t goal.TrackedGoal) {
	tr := t.Tracking
	fmt.Fprintf(w, "%s: %s\n", t.ID, t.Name)
	scope := "the whole business"
	if t.Scope.By != "" {
		scope = t.Scope.By + " " + t.Scope.Value
	}
	fmt.Fprintf(w, "metric:    %s %s %s (%s)\n", t.Metric, directionSign(t.Direction), goalValue(t.Metric, &t.Target), scope)
	fmt.Fprintf(w, "dates:     %s to %s\nowner:     %s\n", t.Start.Format(time.DateOnly), t.Deadline.Format(time.DateOnly), t.Owner)
	if t.ParentID != "" {
		fmt.Fprintf(w, "parent:    %s\n", t.ParentID)
	}
	fmt.Fprintf(w, "status:    %s\nbaseline:  %s\nlatest:    %s", tr.Status, goalValue(t.Metric, tr.Baseline), goalValue(t.Metric, latestOf(tr)))
	if tr.Latest != nil {
		fmt.Fprintf(w, " (%s)", tr.Latest.Month)
	}
	fmt.Fprintf(w, "\nprogress:  %s\n", percent(tr.Progress))
	if tr.Trend != nil {
		fmt.Fprintf(w, "trend:     %s a month over %d month-ends (%s to %s); forecast at the deadline %s\n",
			goalValue(t.Metric, &tr.Trend.Slope), tr.Trend.Points, tr.Trend.From, tr.Trend.To, goalValue(t.Metric, tr.Forecast))
	}
	fmt.Fprintf(w, "actuals:  ")
	for _, p := range tr.Actuals {
		fmt.Fprintf(w, " %s %s", p.Month, goalValue(t.Metric, p.Value))
	}
	fmt.Fprintln(w)
	for _, c := range t.Children {
		fmt.Fprintf(w, "child:     %s %s (latest %s, progress %s)\n", c.ID, c.Status, goalValue(c.Metric, c.Latest), percent(c.Progress))
	}
}

// GoalSetCmd creates or changes a goal.
type GoalSetCmd struct {
	ID          string `arg:"" help:"The goal's id: lower-case letters, digits, - and _."`
	Name        string `help:"The goal's name (required for a new goal)."`
	Metric      string `help:"The metric: a key of kizuna metrics monthly, arr, nps, csat or ces (nrr and grr for nrr_12m and grr_12m)."`
	Target      string `help:"The target in the metric's unit (rates as fractions: 0.02 for 2%)."`
	Direction   string `enum:",at_least,at_most" default:"" help:"at_least or at_most; default from the metric (at_most for churn rates)."`
	Baseline    string `help:"Where progress counts from (default: the actual at the end of the month before the start)."`
	NoBaseline  bool   `name:"no-baseline" help:"Remove the goal's own baseline."`
	Start       string `help:"Start date YYYY-MM-DD (default today for a new goal)."`
	Deadline    string `help:"Deadline YYYY-MM-DD (required for a new goal)."`
	Owner       string `help:"The owner's email (a Kizuna user; required for a new goal)."`
	Parent      string `help:"The parent goal's id."`
	NoParent    bool   `name:"no-parent" help:"Make the goal a top-level goal."`
	Description string `help:"What the goal is for."`
	ScopeBy     string `name:"scope-by" enum:",owner,tier" default:"" help:"Compute the metric over one owner's accounts or one tier."`
	ScopeValue  string `name:"scope-value" help:"The owner's email or the tier."`
	formatFlag
}

// Run creates or updates the goal, with an audit entry.
func (c GoalSetCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	var out goal.Goal
	created := false
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := goal.Get(ctx, tx, c.ID)
		created = errors.Is(err, goal.ErrNotFound)
		if err != nil && !created {
			return err
		}
		next := before
		if created {
			next = goal.Goal{ID: c.ID, CreatedBy: audit.CLIActor()}
		}
		if err := c.apply(&next); err != nil {
			return err
		}
		if created {
			if out, err = goal.Create(ctx, tx, next, now); err != nil {
				return err
			}
			return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionCreate, "goal", c.ID, nil, out)
		}
		if out, err = goal.Update(ctx, tx, next, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "goal", c.ID, before, out)
	})
	if err != nil {
		return goalUserError(err)
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, out)
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(g.stdout, "goal %s %s: %s %s %s by %s\n", out.ID, verb, out.Metric, directionSign(out.Direction),
		goalValue(out.Metric, &out.Target), out.Deadline.Format(time.DateOnly))
	return nil
}

// apply sets the fields given on the command line; a changed metric
// without --direction takes the metric's default direction.
func (c GoalSetCmd) apply(g *goal.Goal) error {
	num := func(flag, s string) (*float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, &goal.ValidationError{Field: flag, Message: fmt.Sprintf("%q is not a number", s)}
		}
		return &v, nil
	}
	day := func(flag, s string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			return t, &goal.ValidationError{Field: flag, Message: fmt.Sprintf("%q: want YYYY-MM-DD", s)}
		}
		return t, nil
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&g.Name, c.Name)
	set(&g.Description, c.Description)
	set(&g.Owner, c.Owner)
	set(&g.ParentID, c.Parent)
	if c.NoParent {
		g.ParentID = ""
	}
	if c.Metric != "" && c.Metric != g.Metric {
		g.Metric, g.Direction = c.Metric, ""
	}
	set(&g.Direction, c.Direction)
	if c.ScopeBy != "" || c.ScopeValue != "" {
		g.Scope = goal.GoalScope{By: c.ScopeBy, Value: c.ScopeValue}
	}
	if c.Target != "" {
		v, err := num("--target", c.Target)
		if err != nil {
			return err
		}
		g.Target = *v
	} else if g.CreatedAt.IsZero() {
		return &goal.ValidationError{Field: "--target", Message: "required for a new goal"}
	}
	if c.Baseline != "" {
		v, err := num("--baseline", c.Baseline)
		if err != nil {
			return err
		}
		g.Baseline = v
	}
	if c.NoBaseline {
		g.Baseline = nil
	}
	var err error
	if c.Start != "" {
		if g.Start, err = day("--start", c.Start); err != nil {
			return err
		}
	}
	if c.Deadline != "" {
		if g.Deadline, err = day("--deadline", c.Deadline); err != nil {
			return err
		}
	}
	return nil
}

// GoalDeleteCmd deletes a goal.
type GoalDeleteCmd struct {
	ID string `arg:"" help:"The goal's id."`
}

// Run deletes the goal, with an audit entry.
func (c GoalDeleteCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := goal.Get(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := goal.Delete(ctx, tx, c.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionDelete, "goal", c.ID, before, nil)
	})
	if err != nil {
		return goalUserError(err)
	}
	fmt.Fprintf(g.stdout, "goal %s deleted\n", c.ID)
	return nil
}

// goalFlags are the flags of the goal package's field names.
var goalFlags = map[string]string{"id": "ID", "name": "--name", "description": "--description", "metric": "--metric",
	"scope.by": "--scope-by", "scope.value": "--scope-value", "target": "--target", "direction": "--direction",
	"baseline": "--baseline", "start_date": "--start", "deadline": "--deadline", "owner_email": "--owner", "parent_id": "--parent"}

// goalUserError marks the errors a user's request caused; a bad field is
// named by its flag.
func goalUserError(err error) error {
	var ve *goal.ValidationError
	if errors.As(err, &ve) {
		if f, ok := goalFlags[ve.Field]; ok {
			return UserError{fmt.Errorf("%s: %s", f, ve.Message)}
		}
		return UserError{err}
	}
	if errors.Is(err, goal.ErrNotFound) || errors.Is(err, goal.ErrExists) || errors.Is(err, goal.ErrHasChildren) {
		return UserError{err}
	}
	return err
}
