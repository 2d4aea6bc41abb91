package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// HealthCmd groups the health score commands.
type HealthCmd struct {
	Recompute HealthRecomputeCmd `cmd:"" help:"Score every account now (or --at) and store the scores."`
	Models    HealthModelsCmd    `cmd:"" help:"Export or import the health models as one JSON file."`
	Backtest  HealthBacktestCmd  `cmd:"" help:"Back-test a model: AUC of its score against churn in the next 90 days."`
	Show      HealthShowCmd      `cmd:"" help:"Print an account's health: score, explanation, changes, override and trend."`
	Override  HealthOverrideCmd  `cmd:"" help:"Override an account's score or band, with a reason, until it expires."`
}

// HealthRecomputeCmd scores every account.
type HealthRecomputeCmd struct {
	At     string `help:"Score as of this moment (default now)." placeholder:"DATE"`
	Format string `default:"text" enum:"text,json" help:"Output: text or json."`
}

// recomputeResult is what recompute prints.
type recomputeResult struct {
	Accounts        int            `json:"accounts"`
	Seconds         float64        `json:"seconds"`
	Bands           map[string]int `json:"bands"`
	BacktestAUC     *float64       `json:"backtest_auc"`
	BacktestSeconds float64        `json:"backtest_seconds"`
}

// Run computes the snapshots and runs the health stage over them in one
// transaction, then back-tests the default model.
func (c HealthRecomputeCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	res := recomputeResult{Bands: map[string]int{health.Green: 0, health.Yellow: 0, health.Red: 0}}
	// The whole pipeline, as the server's job does: segments and
	// playbooks read the new scores.
	stages, err := cliStages(ctx, db, false)
	if err != nil {
		return fmt.Errorf("health recompute: %w", err)
	}
	run, err := recompute.Run(ctx, db, at, recompute.Options{Stages: stages})
	if err != nil {
		return fmt.Errorf("health recompute: %w", err)
	}
	res.Accounts, res.Seconds = run.Accounts, run.Seconds
	rows, err := db.QueryContext(ctx, `SELECT band, COUNT(*) FROM health_current GROUP BY band`)
	if err != nil {
		return fmt.Errorf("health recompute: bands: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var band string
		var n int
		if err := rows.Scan(&band, &n); err != nil {
			return fmt.Errorf("health recompute: bands: %w", err)
		}
		res.Bands[band] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("health recompute: bands: %w", err)
	}
	if m, ok, err := defaultModel(ctx, db); err != nil {
		return err
	} else if ok {
		start := time.Now()
		bt, err := health.RunBacktest(ctx, db, m, at)
		if err != nil {
			return err
		}
		res.BacktestAUC, res.BacktestSeconds = bt.AUC, time.Since(start).Seconds()
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, res)
	}
	fmt.Fprintf(g.stdout, "scored %d accounts in %.1f s: %d green, %d yellow, %d red\n",
		res.Accounts, res.Seconds, res.Bands[health.Green], res.Bands[health.Yellow], res.Bands[health.Red])
	if res.BacktestAUC != nil {
		fmt.Fprintf(g.stdout, "default model back-test AUC %.3f (%.1f s)\n", *res.BacktestAUC, res.BacktestSeconds)
	}
	return nil
}

// defaultModel is the stored model with no applies_to; ok is false when there
// are no models.
func defaultModel(ctx context.Context, db store.Querier) (health.Model, bool, error) {
	ms, err := health.Models(ctx, db)
	if err != nil {
		return health.Model{}, false, err
	}
	for _, m := range ms {
		if strings.TrimSpace(m.AppliesTo) == "" {
			return m, true, nil
		}
	}
	return health.Model{}, false, nil
}

// HealthModelsCmd groups export and import.
type HealthModelsCmd struct {
	Export HealthExportCmd `cmd:"" help:"Write every model to FILE (default standard output)."`
	Import HealthImportCmd `cmd:"" help:"Replace every model with FILE's (all or nothing)."`
}

// HealthExportCmd exports the models.
type HealthExportCmd struct {
	File string `arg:"" optional:"" help:"The file to write; standard output when left out." type:"path"`
}

// Run writes the export file.
func (c HealthExportCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := health.Export(ctx, db)
	if err != nil {
		return err
	}
	if c.File == "" {
		return writeJSON(g.stdout, f)
	}
	out, err := os.Create(c.File)
	if err != nil {
		return UserError{fmt.Errorf("export health models: %w", err)}
	}
	if err := writeJSON(out, f); err != nil {
		out.Close()
		return fmt.Errorf("export health models to %s: %w", c.File, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("export health models to %s: %w", c.File, err)
	}
	fmt.Fprintf(g.stderr, "wrote %d models to %s\n", len(f.Models), c.File)
	return nil
}

// HealthImportCmd imports the models.
type HealthImportCmd struct {
	File string `arg:"" help:"An export file." type:"existingfile"`
}

// Run validates every model of the file and replaces the stored ones.
func (c HealthImportCmd) Run(ctx context.Context, g *Globals) error {
	in, err := os.Open(c.File)
	if err != nil {
		return UserError{fmt.Errorf("import health models: %w", err)}
	}
	defer in.Close()
	f, err := health.ReadFile(in)
	if err != nil {
		return UserError{fmt.Errorf("%s: %w", c.File, err)}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var saved []health.Model
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := health.Models(ctx, tx)
		if err != nil {
			return err
		}
		saved, err = health.Import(ctx, tx, f)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionImport, "health_models", "", before, saved)
	})
	if errors.Is(err, health.ErrInvalid) {
		return UserError{fmt.Errorf("%s: %w", c.File, err)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "imported %d health models\n", len(saved))
	return nil
}

// HealthBacktestCmd back-tests a model.
type HealthBacktestCmd struct {
	Model  string `help:"The model's id (default: the default model)."`
	At     string `help:"Back-test the history up to this moment (default now)." placeholder:"DATE"`
	Format string `default:"text" enum:"text,json" help:"Output: text or json."`
}

// Run back-tests and prints the result.
func (c HealthBacktestCmd) Run(ctx context.Context, g *Globals) error {
	at, err := instantOrNow(c.At, "--at")
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var m health.Model
	if c.Model == "" {
		var ok bool
		if m, ok, err = defaultModel(ctx, db); err != nil {
			return err
		} else if !ok {
			return UserError{errors.New("health backtest: there are no health models")}
		}
	} else if m, err = health.GetModel(ctx, db, c.Model); errors.Is(err, health.ErrNotFound) {
		return UserError{err}
	} else if err != nil {
		return err
	}
	bt, err := health.RunBacktest(ctx, db, m, at)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, bt)
	}
	auc := "n/a"
	if bt.AUC != nil {
		auc = fmt.Sprintf("%.3f", *bt.AUC)
	}
	fmt.Fprintf(g.stdout, "model %s: AUC %s over %d observations (%d churned) at %d dates\n", bt.ModelID, auc, bt.Accounts, bt.Churned, len(bt.Dates))
	return nil
}

// HealthShowCmd prints an account's health.
type HealthShowCmd struct {
	Account string `arg:"" help:"The account's id."`
	Format  string `default:"text" enum:"text,json" help:"Output: text or json."`
}

// Run prints the health.
func (c HealthShowCmd) Run(ctx context.Context, g *Globals) error {
	if c.Account == "" {
		return UsageError{errors.New("<account>: an empty account id")}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	h, err := health.GetAccount(ctx, db, c.Account, time.Now())
	if errors.Is(err, health.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, h)
	}
	printHealth(g.stdout, h)
	return nil
}

func printHealth(w io.Writer, h health.AccountHealth) {
	fmt.Fprintf(w, "%s: %.1f %s (model %s, %s", h.AccountID, h.Score, h.Band, h.ModelID, h.Day)
	if h.AsOf > h.Day {
		// A daily recompute kept the score: the values below are of its day.
		fmt.Fprintf(w, "; unchanged through %s", h.AsOf)
	}
	fmt.Fprint(w, ")")
	if h.BandChanged {
		fmt.Fprintf(w, ", was %s", h.PreviousBand)
	}
	fmt.Fprintln(w)
	if h.Override != nil {
		fmt.Fprintf(w, "  overridden by %s until %s: %s (model said %.1f)\n", h.Override.Author,
			h.Override.ExpiresAt.Format(time.DateOnly), h.Override.Reason, h.ComputedScore)
	}
	for _, ct := range h.Contributions {
		if !ct.Applied {
			fmt.Fprintf(w, "  %-24s left out\n", ct.Measure)
			continue
		}
		fmt.Fprintf(w, "  %-24s value %-10g score %5.1f × %4.1f%% = %5.1f points\n", ct.Measure, ct.Value, ct.Score, 100*ct.Share, ct.Points)
	}
	for _, ch := range h.Changes {
		fmt.Fprintf(w, "  changed: %-15s %+.1f points (value %g → %g)\n", ch.Measure, ch.PointsDelta, ch.ValueBefore, ch.ValueAfter)
	}
	if t := h.Trend; t.Change7d != nil || t.Change30d != nil {
		f := func(p *float64) string {
			if p == nil {
				return "n/a"
			}
			return fmt.Sprintf("%+.1f", *p)
		}
		fmt.Fprintf(w, "  trend: %s over 7 days, %s over 30 days\n", f(t.Change7d), f(t.Change30d))
	}
}

// HealthOverrideCmd sets or clears an override.
type HealthOverrideCmd struct {
	Account string   `arg:"" help:"The account's id."`
	Score   *float64 `help:"The score to use (0–100)."`
	Band    string   `help:"The band to use." enum:"green,yellow,red," default:""`
	Reason  string   `help:"Why (required to set)."`
	Expires string   `help:"When it expires: a date or RFC 3339 time (default 30 days)." placeholder:"DATE"`
	Clear   bool     `help:"End the override in force instead."`
}

// Run sets or clears the override and records it in the audit log.
func (c HealthOverrideCmd) Run(ctx context.Context, g *Globals) error {
	if c.Clear && (c.Score != nil || c.Band != "") {
		return UsageError{errors.New("--clear takes no --score or --band")}
	}
	o := health.Override{AccountID: c.Account, Score: c.Score, Band: c.Band, Reason: c.Reason, Author: audit.CLIActor()}
	if c.Expires != "" {
		t, err := metrics.ParseInstant(c.Expires)
		if err != nil {
			return UsageError{fmt.Errorf("--expires: %w", err)}
		}
		o.ExpiresAt = t
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if c.Clear {
			cleared, err := health.ClearOverride(ctx, tx, c.Account, audit.CLIActor(), time.Now())
			if err != nil {
				return err
			}
			o = cleared
			return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionDelete, "health_override", c.Account, cleared, nil)
		}
		set, err := health.SetOverride(ctx, tx, o)
		if err != nil {
			return err
		}
		o = set
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionCreate, "health_override", c.Account, nil, set)
	})
	if errors.Is(err, health.ErrBadOverride) || errors.Is(err, health.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Clear {
		fmt.Fprintf(g.stdout, "cleared the override of %s\n", c.Account)
		return nil
	}
	fmt.Fprintf(g.stdout, "override of %s in force until %s (the next recompute applies it)\n", c.Account, o.ExpiresAt.Format(time.RFC3339))
	return nil
}
