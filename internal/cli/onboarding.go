package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
)

// OnboardingCmd groups the onboarding commands.
type OnboardingCmd struct {
	Definition OnboardingDefinitionCmd `cmd:"" help:"Show the onboarding definition, or set it with --rule and --window-days."`
	Milestones OnboardingMilestonesCmd `cmd:"" help:"List the checklist's milestones."`
	Milestone  OnboardingMilestoneCmd  `cmd:"" help:"Create or replace a milestone (or --delete it)."`
	Status     OnboardingStatusCmd     `cmd:"" help:"Show an account's onboarding status and checklist."`
	Check      OnboardingCheckCmd      `cmd:"" help:"Complete a milestone of an account by hand (or --undo to uncomplete it)."`
	Report     OnboardingReportCmd     `cmd:"" help:"Completion rate and median time to value by signup cohort and by tier, and the churn of completers."`
}

// OnboardingDefinitionCmd shows or sets the definition.
type OnboardingDefinitionCmd struct {
	Rule       string `help:"The rule that must hold by the end of the window, e.g. 'setup_done && login_week_rate >= 0.6'."`
	Applies    string `help:"Optional: the accounts the definition applies to, e.g. 'tenure_days > 0'."`
	WindowDays int    `name:"window-days" help:"The window in days from signup (with --rule; default 30)."`
	formatFlag
}

// Run prints the definition in force, after saving a new one when --rule
// is given.
func (c OnboardingDefinitionCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if c.Rule == "" {
		if c.Applies != "" || c.WindowDays != 0 {
			return UsageError{errors.New("--applies and --window-days need --rule")}
		}
		d, err := onboarding.Get(ctx, db)
		if err != nil {
			return err
		}
		return printDefinition(g, d, c.Format)
	}
	days := c.WindowDays
	if days == 0 {
		days = 30
	}
	def := onboarding.OnboardingDefinition{Rule: c.Rule, Applies: c.Applies, WindowDays: days}
	var saved onboarding.OnboardingDefinition
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := onboarding.Get(ctx, tx)
		if err != nil {
			return err
		}
		if saved, err = onboarding.Save(ctx, tx, def, audit.CLIActor(), time.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "onboarding_definition", "current", before, saved)
	})
	var fe *onboarding.FieldError
	if errors.As(err, &fe) {
		if fe.Rule != nil && fe.Rule.Snippet != "" {
			fmt.Fprintln(g.stderr, fe.Rule.Snippet)
		}
		flag := map[string]string{"rule": "--rule", "applies": "--applies", "window_days": "--window-days"}[fe.Field]
		if fe.Rule != nil {
			return UserError{fmt.Errorf("%s: %w", flag, fe.Rule)}
		}
		return UserError{fmt.Errorf("%s %s", flag, fe.Reason)}
	}
	if err != nil {
		return err
	}
	if err := queueRecomputeAll(ctx, db); err != nil {
		return err
	}
	if c.Format != "json" {
		fmt.Fprintln(g.stdout, "saved; every account is evaluated anew by the recompute queued for the server (or run kizuna recompute)")
	}
	return printDefinition(g, saved, c.Format)
}

func printDefinition(g *Globals, d onboarding.OnboardingDefinition, format string) error {
	if format == "json" {
		return writeJSON(g.stdout, d)
	}
	fmt.Fprintf(g.stdout, "version %d\nrule: %s\nwindow: %d days from signup\n", d.Version, d.Rule, d.WindowDays)
	if d.Applies != "" {
		fmt.Fprintf(g.stdout, "applies to: %s\n", d.Applies)
	}
	return nil
}

// OnboardingMilestonesCmd lists the milestones.
type OnboardingMilestonesCmd struct{ formatFlag }

// Run prints the checklist.
func (c OnboardingMilestonesCmd) Run(ctx context.Context, g *Globals) error {
	return runList(ctx, g, c.Format, []string{"position", "milestone_id", "name", "event"}, onboarding.Milestones,
		func(m onboarding.ChecklistMilestone) []any { return []any{m.Position, m.ID, m.Name, m.Event} })
}

// OnboardingMilestoneCmd creates, replaces or deletes a milestone.
type OnboardingMilestoneCmd struct {
	ID       string `arg:"" name:"id" help:"The milestone's id: a slug such as setup."`
	Name     string `help:"Its name (default the id)."`
	Event    string `help:"The usage event that completes it (setup_completed, reports); empty: by hand only."`
	Position int    `help:"Its place in the checklist."`
	Delete   bool   `help:"Delete the milestone with its completions."`
}

// Run saves or deletes the milestone with an audit entry.
func (c OnboardingMilestoneCmd) Run(ctx context.Context, g *Globals) error {
	m := onboarding.ChecklistMilestone{ID: c.ID, Name: c.Name, Event: c.Event, Position: c.Position}
	if m.Name == "" {
		m.Name = m.ID
	}
	if !c.Delete {
		if err := onboarding.ValidateMilestone(m); err != nil {
			return UserError{err}
		}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := onboarding.GetMilestone(ctx, tx, m.ID)
		var old any = before
		if errors.Is(err, onboarding.ErrNotFound) && !c.Delete {
			old = nil
		} else if err != nil {
			return err
		}
		if c.Delete {
			if err := onboarding.DeleteMilestone(ctx, tx, m.ID); err != nil {
				return err
			}
			return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionDelete, "onboarding_milestone", m.ID, before, nil)
		}
		created, err := onboarding.PutMilestone(ctx, tx, m, time.Now())
		if err != nil {
			return err
		}
		action := audit.ActionUpdate
		if created {
			action = audit.ActionCreate
		}
		return audit.Record(ctx, tx, audit.CLIActor(), action, "onboarding_milestone", m.ID, old, m)
	})
	if errors.Is(err, onboarding.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Delete {
		fmt.Fprintf(g.stdout, "deleted milestone %s\n", m.ID)
	} else {
		fmt.Fprintf(g.stdout, "saved milestone %s\n", m.ID)
	}
	return nil
}

// OnboardingStatusCmd shows one account's onboarding.
type OnboardingStatusCmd struct {
	Account string `arg:"" help:"The account id."`
	formatFlag
}

// Run prints the account's status and checklist.
func (c OnboardingStatusCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := onboarding.AccountStatus(ctx, db, c.Account, time.Now().UTC())
	if errors.Is(err, onboarding.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, st)
	}
	fmt.Fprintf(g.stdout, "%s: %s", st.AccountID, st.Status)
	if st.SignupDate != nil {
		fmt.Fprintf(g.stdout, " (signup %s, day %d of %d, due %s)", *st.SignupDate, st.DaysElapsed, st.WindowDays, *st.DueDate)
	}
	if st.CompletedDate != nil {
		fmt.Fprintf(g.stdout, ", completed %s after %d days", *st.CompletedDate, *st.DaysToComplete)
	}
	fmt.Fprintln(g.stdout)
	for _, it := range st.Checklist {
		mark := "[ ]"
		if it.Done {
			mark = "[x]"
		}
		fmt.Fprintf(g.stdout, "  %s %s", mark, it.Name)
		if it.At != nil {
			fmt.Fprintf(g.stdout, " (%s %s", it.Source, it.At.Format(time.DateOnly))
			if it.By != "" {
				fmt.Fprintf(g.stdout, " by %s", it.By)
			}
			fmt.Fprint(g.stdout, ")")
		}
		fmt.Fprintln(g.stdout)
	}
	return nil
}

// OnboardingCheckCmd completes or uncompletes a milestone by hand.
type OnboardingCheckCmd struct {
	Account   string `arg:"" help:"The account id."`
	Milestone string `arg:"" help:"The milestone id."`
	Undo      bool   `help:"Uncomplete it instead (events will not complete it again)."`
	At        string `help:"When it was done: a date or an RFC 3339 time (default now)."`
}

// Run records the change with who (the operating-system user) and when.
func (c OnboardingCheckCmd) Run(ctx context.Context, g *Globals) error {
	at := time.Now()
	if c.At != "" {
		var err error
		if at, err = parseInstant(c.At); err != nil {
			return UsageError{fmt.Errorf("--at %q: %w", c.At, err)}
		}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var after onboarding.ChecklistItem
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, a, err := onboarding.SetDone(ctx, tx, c.Account, c.Milestone, !c.Undo, at, audit.CLIActor())
		if err != nil {
			return err
		}
		after = a
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "onboarding_checklist", c.Account+"/"+c.Milestone, before, after)
	})
	if errors.Is(err, onboarding.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	verb := "completed"
	if c.Undo {
		verb = "uncompleted"
	}
	fmt.Fprintf(g.stdout, "%s %s of %s at %s by %s\n", verb, after.Name, c.Account, after.At.Format(time.RFC3339), after.By)
	return nil
}

// OnboardingReportCmd prints the completion report.
type OnboardingReportCmd struct {
	AsOf string `name:"as-of" help:"A date or an RFC 3339 time (default now)."`
	formatFlag
}

// Run prints completion and time to value by cohort and tier.
func (c OnboardingReportCmd) Run(ctx context.Context, g *Globals) error {
	at := time.Now().UTC()
	if c.AsOf != "" {
		var err error
		if at, err = parseInstant(c.AsOf); err != nil {
			return UsageError{fmt.Errorf("--as-of %q: %w", c.AsOf, err)}
		}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := onboarding.BuildReport(ctx, db, at)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, rep)
	}
	return printReport(g, rep)
}

func printReport(g *Globals, rep *onboarding.CompletionReport) error {
	w := g.stdout
	fmt.Fprintf(w, "definition %d: %s within %d days\n", rep.Definition.Version, rep.Definition.Rule, rep.Definition.WindowDays)
	if rep.NotEvaluated > 0 {
		fmt.Fprintf(w, "%d accounts not evaluated yet: run kizuna recompute\n", rep.NotEvaluated)
	}
	header := []string{"group", "accounts", "completed", "overdue", "in_progress", "closed", "completion_rate", "median_days_to_value"}
	row := func(gr onboarding.CompletionGroup) []any {
		return []any{gr.Group, gr.Accounts, gr.Completed, gr.Overdue, gr.InProgress, gr.Closed, gr.CompletionRate, gr.MedianDaysToValue}
	}
	records := [][]any{row(rep.Overall)}
	for _, gr := range rep.Tiers {
		gr.Group = rep.Tier + "=" + gr.Group
		records = append(records, row(gr))
	}
	for _, gr := range rep.Cohorts {
		records = append(records, row(gr))
	}
	if err := writeRecords(w, "table", header, records, nil, ""); err != nil {
		return err
	}
	ch := rep.Churn
	rate := func(r *float64) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprintf("%.4f", *r)
	}
	fmt.Fprintf(w, "churn after onboarding: completed %d accounts, %d churned, %s/month; missed %d, %d churned, %s/month; ratio %s\n",
		ch.Completed.Accounts, ch.Completed.Churned, rate(ch.Completed.MonthlyChurnRate), ch.Missed.Accounts, ch.Missed.Churned,
		rate(ch.Missed.MonthlyChurnRate), rate(ch.RateRatio))
	return nil
}
