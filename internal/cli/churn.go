package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/churn"
)

// ChurnCmd groups the churn commands.
type ChurnCmd struct {
	Train    ChurnTrainCmd    `cmd:"" help:"Train the churn-risk model on past snapshots: cross-validated AUC, calibration, drivers, riskiest accounts now."`
	Survival ChurnSurvivalCmd `cmd:"" help:"Kaplan–Meier curves of customer lifetime with 95% bands and median lifetime."`
}

// ChurnTrainCmd trains and evaluates the risk model.
type ChurnTrainCmd struct {
	AsOf    string   `name:"as-of" help:"Date the features are taken at (YYYY-MM-DD; default today minus the horizon)."`
	Horizon int      `default:"90" help:"Days after the as-of date within which stopping to pay counts as churn."`
	Windows int      `default:"1" help:"As-of dates to stack, each a horizon before the next."`
	Folds   int      `default:"5" help:"Cross-validation folds (stratified, fixed seed)."`
	Lambda  float64  `default:"1" help:"L2 penalty on the standardised coefficients (1 = scikit-learn's C=1)."`
	Exclude []string `help:"Features to leave out, by name or prefix* (e.g. days_to_renewal,attr.*)."`
	Top     int      `default:"10" help:"Riskiest paying accounts today to list (0: none)."`
	Store   bool     `help:"Store every paying account's probability and reasons now (replacing the stored scores), with an audit entry."`
	formatFlag
}

type churnTrainOutput struct {
	*churn.Report
	TopRisk []churn.Risk `json:"top_risk"`
	Stored  int          `json:"stored"`
}

// Run trains the model and prints its report.
func (c ChurnTrainCmd) Run(ctx context.Context, g *Globals) error {
	opt := churn.Options{HorizonDays: c.Horizon, Windows: c.Windows, Folds: c.Folds, Lambda: c.Lambda, Exclude: c.Exclude}
	if c.AsOf != "" {
		at, err := time.Parse(time.DateOnly, c.AsOf)
		if err != nil {
			return UsageError{fmt.Errorf("--as-of %q: want YYYY-MM-DD", c.AsOf)}
		}
		opt.AsOf = at
	}
	if c.Horizon < 1 || c.Windows < 1 || c.Folds < 2 || c.Lambda <= 0 {
		return UsageError{fmt.Errorf("--horizon and --windows must be ≥ 1, --folds ≥ 2, --lambda > 0")}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := churn.Train(ctx, db, opt)
	if errors.As(err, new(churn.OptionError)) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	out := churnTrainOutput{Report: rep, TopRisk: []churn.Risk{}}
	if c.Top > 0 || c.Store {
		now := time.Now()
		risks, err := churn.Score(ctx, db, rep.Model, now, 3)
		if err != nil {
			return err
		}
		if c.Store {
			asOf, _ := time.Parse(time.DateOnly, rep.AsOf)
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				n, err := churn.StoreScores(ctx, tx, risks, asOf, now)
				if err != nil {
					return err
				}
				out.Stored = n
				// One entry for the run, not one per account: the scores are
				// derived data, the run is the change.
				return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionUpdate, "churn_scores", rep.AsOf, nil,
					map[string]any{"as_of": rep.AsOf, "horizon_days": rep.HorizonDays, "accounts": n, "auc": rep.AUC})
			})
			if err != nil {
				return err
			}
			// The snapshots' churn_risk changed: the server recomputes now.
			if err := queueRecomputeAll(ctx, db); err != nil {
				return err
			}
		}
		out.TopRisk = risks[:min(c.Top, len(risks))]
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, out)
	}
	fmt.Fprintf(g.stdout, "as of %s, horizon %d days: %d accounts, %d churned; %d-fold AUC %.3f, Brier %.3f\n",
		rep.AsOf, rep.HorizonDays, rep.Accounts, rep.Churned, rep.Folds, rep.AUC, rep.Brier)
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "feature\tcoefficient\t95% CI\todds ratio\tz\t")
	for _, d := range rep.Drivers {
		fmt.Fprintf(tw, "%s\t%+.3f\t[%+.3f, %+.3f]\t%.3f\t%+.2f\t\n", d.Feature, d.Coefficient, d.CILow, d.CIHigh, d.OddsRatio, d.Z)
	}
	tw.Flush()
	if c.Store {
		fmt.Fprintf(g.stdout, "stored the churn scores of %d paying accounts\n", out.Stored)
	}
	if len(out.TopRisk) > 0 {
		fmt.Fprintln(g.stdout, "\nriskiest accounts now:")
		for _, r := range out.TopRisk {
			var why []string
			for _, re := range r.Reasons {
				why = append(why, re.Feature)
			}
			fmt.Fprintf(g.stdout, "  %s %s %.1f%% (%s)\n", r.AccountID, r.Name, 100*r.Probability, strings.Join(why, ", "))
		}
	}
	return nil
}

// ChurnSurvivalCmd prints Kaplan–Meier curves of customer lifetime.
type ChurnSurvivalCmd struct {
	By    string   `help:"Group by plan (first paid period's), cohort (start year) or attr:NAME; default one curve."`
	Unit  string   `enum:"day,month" default:"day" help:"Lifetime unit: day or month (whole calendar months)."`
	At    string   `help:"End of observation (YYYY-MM-DD; default now): accounts paying then are censored."`
	Where []string `help:"Keep only accounts with attr:NAME=VALUE or attr:NAME!=VALUE (repeatable)."`
	formatFlag
}

// Run estimates and prints the curves.
func (c ChurnSurvivalCmd) Run(ctx context.Context, g *Globals) error {
	opt := churn.LifetimeOptions{By: c.By, Unit: c.Unit, At: time.Now(), Where: c.Where}
	if c.At != "" {
		at, err := time.Parse(time.DateOnly, c.At)
		if err != nil {
			return UsageError{fmt.Errorf("--at %q: want YYYY-MM-DD", c.At)}
		}
		opt.At = at
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	curves, err := churn.Survival(ctx, db, opt)
	if errors.As(err, new(churn.OptionError)) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, map[string]any{"by": c.By, "unit": c.Unit, "where": c.Where, "at": opt.At.UTC().Format(time.DateOnly), "curves": curves})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tcustomers\tchurned\tmedian\t95% CI\t")
	for _, cv := range curves {
		name := cv.Group
		if name == "" {
			name = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t[%s, %s]\t\n", name, cv.N, cv.Events, optional(cv.Median), optional(cv.MedianLower), optional(cv.MedianUpper))
	}
	return tw.Flush()
}

func optional(v *float64) string {
	if v == nil {
		return "not reached"
	}
	return fmt.Sprintf("%g", *v)
}
