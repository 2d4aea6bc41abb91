package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// StageCmd groups the lifecycle stage commands.
type StageCmd struct {
	List    StageListCmd    `cmd:"" help:"List the stages in evaluation order (the first matching rule sets an account's stage)."`
	Show    StageShowCmd    `cmd:"" help:"Show one stage with its journey step."`
	Set     StageSetCmd     `cmd:"" help:"Create or replace a stage and classify every account again now."`
	Delete  StageDeleteCmd  `cmd:"" help:"Delete a stage and classify every account again now."`
	Summary StageSummaryCmd `cmd:"" help:"Accounts, ARR and median days per stage (now or --at a past moment)."`
	History StageHistoryCmd `cmd:"" help:"An account's stays in stages."`
}

// StageListCmd lists the stages.
type StageListCmd struct{ formatFlag }

// Run prints every stage.
func (c StageListCmd) Run(ctx context.Context, g *Globals) error {
	return runList(ctx, g, c.Format, []string{"priority", "stage_id", "name", "rule"}, lifecycle.List,
		func(d lifecycle.StageDefinition) []any { return []any{d.Priority, d.ID, d.Name, d.Rule} })
}

// StageShowCmd shows one stage.
type StageShowCmd struct {
	ID string `arg:"" name:"id" help:"The stage's id."`
	formatFlag
}

// Run prints the stage and its journey step.
func (c StageShowCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := lifecycle.Get(ctx, db, c.ID)
	if errors.Is(err, lifecycle.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	step, err := lifecycle.Step(ctx, db, c.ID)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, struct {
			lifecycle.StageDefinition
			Journey lifecycle.JourneyStep `json:"journey"`
		}{d, step})
	}
	fmt.Fprintf(g.stdout, "stage_id     %s\nname         %s\ndescription  %s\nrule         %s\npriority     %d\n",
		d.ID, d.Name, d.Description, d.Rule, d.Priority)
	for _, f := range [][2]string{{"goal", step.Goal}, {"actions", step.Actions}, {"feelings", step.Feelings},
		{"questions", step.Questions}, {"support", step.Support}, {"high touch", step.Touch.High},
		{"low touch", step.Touch.Low}, {"tech touch", step.Touch.Tech}, {"playbooks", strings.Join(step.Playbooks, ", ")}} {
		fmt.Fprintf(g.stdout, "%-12s %s\n", f[0], f[1])
	}
	return nil
}

// StageSetCmd creates or replaces a stage.
type StageSetCmd struct {
	ID          string `arg:"" name:"id" help:"The stage's id: a slug such as renewal."`
	Name        string `help:"Its name (default: the stored one, or the id)."`
	Description string `help:"What it means."`
	Rule        string `required:"" help:"The condition, e.g. 'customer && days_to_renewal >= 0 && days_to_renewal <= 90'."`
	Priority    *int   `help:"Its place in the evaluation order, ascending (default: the stored one, or after every stage)."`
	formatFlag
}

// Run validates the stage, stores it with an audit entry and classifies
// every account again now.
func (c StageSetCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	old, err := lifecycle.Get(ctx, db, c.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, lifecycle.ErrNotFound) {
		return err
	}
	d := lifecycle.StageDefinition{ID: c.ID, Name: c.Name, Description: c.Description, Rule: c.Rule}
	switch {
	case c.Priority != nil:
		d.Priority = *c.Priority
	case exists:
		d.Priority = old.Priority
	default:
		list, err := lifecycle.List(ctx, db)
		if err != nil {
			return err
		}
		for _, s := range list {
			d.Priority = max(d.Priority, s.Priority+10)
		}
	}
	if d.Name == "" {
		d.Name = c.ID
		if exists {
			d.Name = old.Name
		}
	}
	if d.Description == "" && exists {
		d.Description = old.Description
	}
	if err := lifecycle.Validate(d); err != nil {
		var re *rule.Error
		if errors.As(err, &re) {
			if re.Snippet != "" {
				fmt.Fprintln(g.stderr, re.Snippet)
			}
			return UserError{fmt.Errorf("--rule: %w", re)}
		}
		return UserError{err}
	}
	now := time.Now().UTC().Truncate(time.Second)
	snaps, err := snapshot.All(ctx, db, now)
	if err != nil {
		return err
	}
	var out struct {
		lifecycle.StageDefinition
		Moved int `json:"moved"`
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		action, before := audit.ActionCreate, any(nil)
		if exists {
			action, before = audit.ActionUpdate, old
			out.StageDefinition, err = lifecycle.Update(ctx, tx, d, now)
		} else {
			out.StageDefinition, err = lifecycle.Create(ctx, tx, d, now)
		}
		if err != nil {
			return err
		}
		if out.Moved, err = lifecycle.Refresh(ctx, tx, now, snaps); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), action, "stage", d.ID, before, out.StageDefinition)
	})
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, out)
	}
	fmt.Fprintf(g.stdout, "stage %s (priority %d): %d accounts changed stage\n", out.ID, out.Priority, out.Moved)
	return nil
}

// StageDeleteCmd deletes a stage.
type StageDeleteCmd struct {
	ID string `arg:"" name:"id" help:"The stage's id."`
}

// Run deletes the stage with an audit entry and classifies every account
// again.
func (c StageDeleteCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Second)
	snaps, err := snapshot.All(ctx, db, now)
	if err != nil {
		return err
	}
	moved := 0
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := lifecycle.Get(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := lifecycle.Delete(ctx, tx, c.ID); err != nil {
			return err
		}
		if moved, err = lifecycle.Refresh(ctx, tx, now, snaps); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionDelete, "stage", c.ID, before, nil)
	})
	if errors.Is(err, lifecycle.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "deleted stage %s: %d accounts changed stage\n", c.ID, moved)
	return nil
}

// StageSummaryCmd prints the accounts per stage.
type StageSummaryCmd struct {
	At string `help:"As of this moment (a date or an RFC 3339 time) instead of now." placeholder:"DATE"`
	formatFlag
}

// Run prints the summary.
func (c StageSummaryCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := lifecycle.Summarize(ctx, db, at)
	if err != nil {
		return err
	}
	days := func(p *float64) any {
		if p == nil {
			return ""
		}
		return *p
	}
	var records [][]any
	for _, s := range sum.Stages {
		records = append(records, []any{s.StageID, s.Accounts, fmt.Sprintf("%.2f", s.ARR), days(s.MedianDays), s.CompletedStays, days(s.MedianStayDays)})
	}
	records = append(records, []any{"(none)", sum.NoStage, "", "", "", ""})
	return writeRecords(g.stdout, tableOr(c.Format), []string{"stage_id", "accounts", "arr_" + strings.ToLower(sum.Currency),
		"median_days_in_stage", "completed_stays", "median_completed_stay_days"}, records, sum, "")
}

// StageHistoryCmd prints an account's stays.
type StageHistoryCmd struct {
	Account string `arg:"" help:"The account's id."`
	At      string `help:"As of this moment instead of now." placeholder:"DATE"`
	formatFlag
}

// Run prints the stays, oldest first.
func (c StageHistoryCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := account.Get(ctx, db, c.Account); errors.Is(err, account.ErrNotFound) {
		return UserError{err}
	} else if err != nil {
		return err
	}
	stays, err := lifecycle.Stays(ctx, db, c.Account, at)
	if err != nil {
		return err
	}
	return writeList(g.stdout, c.Format, []string{"stage_id", "entered_at", "left_at", "days"}, stays, func(s lifecycle.Stay) []any {
		left := ""
		if s.LeftAt != nil {
			left = s.LeftAt.Format(time.RFC3339)
		}
		return []any{s.StageID, s.EnteredAt.Format(time.RFC3339), left, s.Days}
	})
}
