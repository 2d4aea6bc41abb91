package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/kizuna-cs/kizuna/internal/clv"
)

// ClvCmd groups the customer lifetime value commands.
type ClvCmd struct {
	Fit ClvFitCmd `cmd:"" help:"Fit BG/NBD and Gamma-Gamma on the orders and print the parameters and the top customers by CLV."`
}

// ClvFitCmd fits the purchase and spend models on the orders table.
type ClvFitCmd struct {
	CalibrationEnd string  `required:"" help:"Last day (YYYY-MM-DD, inclusive) of the orders used for the fit." placeholder:"DATE"`
	Unit           string  `default:"week" enum:"day,week,month" help:"Time unit of the model: day, week or month (365.25/12 days)."`
	Horizon        int     `default:"52" help:"Number of future periods (of --unit) valued."`
	Discount       float64 `default:"0" help:"Discount rate per period (e.g. 0.01 = 1 % per period)."`
	Margin         float64 `default:"-1" help:"Gross margin applied to spend (default: the gross_margin setting, else 1)."`
	Top            int     `default:"10" help:"Number of customers of highest CLV to list."`
	Format         string  `default:"text" enum:"text,json" help:"Output: text or json."`
}

// Run fits and prints the report.
func (c ClvFitCmd) Run(ctx context.Context, g *Globals) error {
	end, err := time.Parse(time.DateOnly, c.CalibrationEnd)
	if err != nil {
		return UsageError{fmt.Errorf("--calibration-end %q: want YYYY-MM-DD", c.CalibrationEnd)}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := clv.Fit(ctx, db, clv.Options{CalibrationEnd: end, Unit: clv.Unit(c.Unit), Horizon: c.Horizon,
		Discount: c.Discount, Margin: c.Margin, Top: c.Top})
	if errors.Is(err, clv.ErrBadOptions) {
		return UsageError{err}
	}
	if err != nil {
		return UserError{err}
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, rep)
	}
	w := g.stdout
	fmt.Fprintf(w, "Customers %d (%d repeaters, %d with a positive spend), orders to %s, unit %s; fitted in %.3f s.\n", rep.Customers, rep.Repeaters, rep.SpendCustomers, rep.CalibrationEnd, rep.Unit, rep.Seconds)
	fmt.Fprintf(w, "BG/NBD       r=%.4g alpha=%.4g a=%.4g b=%.4g  log-likelihood %.4f\n", rep.R, rep.Alpha, rep.A, rep.B, rep.LogLikelihood)
	fmt.Fprintf(w, "Gamma-Gamma  p=%.4g q=%.4g gamma=%.4g  log-likelihood %.4f\n", rep.P, rep.Q, rep.Gamma, rep.SpendLogLikelihood)
	fmt.Fprintf(w, "CLV over %d %ss at %g per period, margin %g: total %.2f %s\n\n", rep.Horizon, rep.Unit, rep.Discount, rep.Margin, rep.TotalCLV, rep.Currency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "account\tx\tt_x\tT\tzbar\tp_alive\texp_purchases\texp_spend\tclv\t")
	for _, t := range rep.Top {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.3f\t%.3f\t%.2f\t%.2f\t\n", t.AccountID, t.X, t.Tx, t.T, t.Zbar, t.PAlive, t.ExpectedPurchases, t.ExpectedSpend, t.CLV)
	}
	return tw.Flush()
}
