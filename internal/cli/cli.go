// Package cli is the kizuna command line: it parses flags and environment
// variables (KIZUNA_*) with kong and calls into the domain packages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Version is set at build time with -ldflags "-X github.com/kizuna-cs/kizuna/internal/cli.Version=…".
var Version = "dev"

// Globals are the flags every command shares.
type Globals struct {
	DB string `name:"db" env:"KIZUNA_DB" default:"kizuna.db" help:"SQLite file path or postgres:// URL."`

	stdout, stderr io.Writer
}

// open opens and migrates the database named by --db, and applies the
// rollup journal a killed server left (usage.ApplyJournal): the commands
// read the rollups. A failure there is a warning: the command goes on.
func (g *Globals) open(ctx context.Context) (*store.DB, error) {
	db, err := store.Open(ctx, g.DB, store.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := usage.ApplyJournal(ctx, db); err != nil {
		fmt.Fprintf(g.stderr, "warning: %v (the usage rollups lack some recent events)\n", err)
	}
	return db, nil
}

// CLI is the whole command line.
type CLI struct {
	Globals

	Demo       DemoCmd       `cmd:"" help:"Create (or reopen) a demo database with realistic data and serve it."`
	Serve      ServeCmd      `cmd:"" help:"Run the server."`
	Import     ImportCmd     `cmd:"" help:"Import a CSV file (accounts, contacts, subscriptions, events, tickets, responses, orders, costs, feedback)."`
	Metrics    MetricsCmd    `cmd:"" help:"SaaS metrics: the monthly table and cohort retention."`
	Snapshot   SnapshotCmd   `cmd:"" help:"Print an account's snapshot: the fields rules are written against."`
	Rule       RuleCmd       `cmd:"" help:"Check rules against the account snapshot."`
	Segment    SegmentCmd    `cmd:"" help:"Rule-defined segments: list, create, show, members, delete."`
	Stage      StageCmd      `cmd:"" help:"Lifecycle stages: list, show, set, delete, summary, history."`
	Coverage   CoverageCmd   `cmd:"" help:"Touch tiers, revenue ranking and workload per CSM."`
	Assign     AssignCmd     `cmd:"" help:"Assign accounts to CSMs automatically (fewest_accounts, least_arr, round_robin)."`
	Health     HealthCmd     `cmd:"" help:"Health scores: recompute, models, back-test, show, override."`
	Settings   SettingsCmd   `cmd:"" help:"Settings: reporting currency, margins, snapshot events, touch tiers, playbook fallback (list, set, unset)."`
	Playbook   PlaybookCmd   `cmd:"" help:"Playbooks: triggers and actions run by the recompute (list, show, create, validate)."`
	Churn      ChurnCmd      `cmd:"" help:"Churn-risk model (train) and customer survival curves."`
	Onboarding OnboardingCmd `cmd:"" help:"Onboarding: the definition, the milestone checklist, account status, completion report."`
	Task       TaskCmd       `cmd:"" help:"Tasks: list a CSM's queue, mark tasks done."`
	Prospect   ProspectCmd   `cmd:"" help:"Trial prospects: the triage queue (decided / undecided / browsing) and conversion by class."`
	Program    ProgramCmd    `cmd:"" help:"Programs (hypothesis → action → verification): list, show, results, add-participants."`
	Goal       GoalCmd       `cmd:"" help:"KPI goals: targets on any metric with a deadline, owner and parent, tracked with a forecast (list, show, set, delete)."`
	Handoff    HandoffCmd    `cmd:"" help:"Sales→CS handoffs: paying accounts missing one."`
	Survey     SurveyCmd     `cmd:"" help:"NPS, CSAT and CES surveys sent by email: list, show, send."`
	Feedback   FeedbackCmd   `cmd:"" help:"Feedback: product requests ranked by count or ARR, tickets to feedback, FAQ candidates."`
	FX         FXCmd         `cmd:"" name:"fx" help:"Exchange rates into the reporting currency."`
	Migrate    MigrateCmd    `cmd:"" help:"Apply database migrations and print the schema version."`
	User       UserCmd       `cmd:"" help:"Manage users."`
	APIKey     APIKeyCmd     `cmd:"" name:"apikey" help:"Manage API keys (create, list, revoke)."`
	Clv        ClvCmd        `cmd:"" name:"clv" help:"Customer lifetime value for purchase businesses: BG/NBD and Gamma-Gamma on the orders."`
	Version    VersionCmd    `cmd:"" help:"Print the version."`
	Recompute  RecomputeCmd  `cmd:"" hidden:"" help:"Run the recompute pipeline now (what the recompute_all job does); for benchmarks and operators."`
}

// UserError marks an error caused by what the user asked for (exit status 1,
// one line), as opposed to a usage error (exit status 2).
type UserError struct{ Err error }

func (e UserError) Error() string { return e.Err.Error() }
func (e UserError) Unwrap() error { return e.Err }

// Main runs the command line and returns the exit status: 0 on success, 1 on
// a user error with a one-line message, 2 on bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	var c CLI
	c.stdout, c.stderr = stdout, stderr
	exit := -1
	parser, err := kong.New(&c,
		kong.Name("kizuna"),
		kong.Description("Kizuna: the open-source customer success platform."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.Vars{"version": Version},
	)
	if err != nil {
		fmt.Fprintf(stderr, "kizuna: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exit >= 0 { // --help
		return exit
	}
	if err != nil {
		fmt.Fprintf(stderr, "kizuna: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(&c.Globals); err != nil {
		fmt.Fprintf(stderr, "kizuna: %v\n", oneLine(err))
		var ue UsageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// UsageError marks a command line that is wrong in a way the parser cannot see (exit status 2).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func oneLine(err error) string {
	s := err.Error()
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	fmt.Fprintln(g.stdout, "kizuna", Version)
	return nil
}

// MigrateCmd applies migrations.
type MigrateCmd struct{}

// Run applies pending migrations and prints the schema version.
func (MigrateCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := jobs.Migrate(ctx, db); err != nil {
		return err
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "%s: schema at version %d\n", db.Location, v)
	return nil
}
