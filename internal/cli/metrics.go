package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/money"
)

// MetricsCmd groups the metrics commands.
type MetricsCmd struct {
	Monthly  MonthlyCmd  `cmd:"" help:"The monthly SaaS metrics table: MRR and its movements, churn, NRR/GRR, ARPA, LTV, CAC (CONTRACT.md)."`
	Cohorts  CohortsCmd  `cmd:"" help:"Logo and revenue retention of cohorts by first-MRR month."`
	Surveys  SurveysCmd  `cmd:"" help:"NPS, CSAT and CES by month, optionally by survey or segment."`
	Renewals RenewalsCmd `cmd:"" help:"Subscriptions and accounts up for renewal in the next days, with their ARR."`
}

// rangeFlags are the flags every metrics command takes.
type rangeFlags struct {
	From   string `required:"" help:"First month (YYYY-MM)." placeholder:"YYYY-MM"`
	To     string `required:"" help:"Last month (YYYY-MM)." placeholder:"YYYY-MM"`
	AsOf   string `name:"as-of" help:"Compute from the data as Kizuna knew it then: a date (2024-05-01, 00:00 UTC) or an RFC 3339 time." placeholder:"DATE"`
	Format string `default:"table" enum:"table,json,csv" help:"Output: table, json or csv."`
}

func (f rangeFlags) parse() (from, to time.Time, asOf *time.Time, err error) {
	if from, err = metrics.ParseMonth(f.From); err != nil {
		return from, to, nil, UsageError{fmt.Errorf("--from: %w", err)}
	}
	if to, err = metrics.ParseMonth(f.To); err != nil {
		return from, to, nil, UsageError{fmt.Errorf("--to: %w", err)}
	}
	if f.AsOf != "" {
		t, err := metrics.ParseInstant(f.AsOf)
		if err != nil {
			return from, to, nil, UsageError{fmt.Errorf("--as-of: %w", err)}
		}
		asOf = &t
	}
	return from, to, asOf, nil
}

// MonthlyCmd prints the monthly metrics table.
type MonthlyCmd struct {
	rangeFlags
	Interval string `default:"month" enum:"month,week,day" help:"Bucket length: month, week (ISO, Monday first) or day."`
	By       string `help:"Break every figure down by plan, product, currency, owner, tier or attr:NAME (a custom account attribute)." placeholder:"DIMENSION"`
	Extended bool   `help:"Add revenue churn, ARPA growth on revenue and gross profit, cost-aware and order-based LTV."`
}

// Run computes and prints the table.
func (c MonthlyCmd) Run(ctx context.Context, g *Globals) error {
	from, to, asOf, err := c.parse()
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := metrics.Compute(ctx, db, metrics.Options{From: from, To: to, AsOf: asOf, Interval: metrics.Interval(c.Interval), By: c.By, Extended: c.Extended})
	if errors.Is(err, metrics.ErrBadOptions) {
		return UsageError{err}
	}
	if err != nil {
		return err
	}
	return writeMonthly(g.stdout, c.Format, t)
}

func writeMonthly(w io.Writer, format string, t *metrics.Table) error {
	if format == "csv" {
		return t.WriteCSV(w)
	}
	rows := t.Rows
	if rows == nil {
		rows = []metrics.Row{}
	}
	if format == "table" {
		fmt.Fprintf(w, "Amounts in %s; rates in %%.", t.Currency)
		if !t.AsOf.IsZero() {
			fmt.Fprintf(w, " As of %s.", t.AsOf.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	return writeRecords(w, format, t.Columns(), t.Records(), rows, t.Currency)
}

// tableValue rounds for reading: amounts to the currency's minor unit,
// rates to a tenth of a percent, ratios (quick ratio, LTV:CAC) to hundredths.
func tableValue(key string, v any, currency string) string {
	switch x := v.(type) {
	case *float64:
		if x == nil {
			return "–"
		}
		switch {
		case key == "csat":
			return strconv.FormatFloat(100**x, 'f', 1, 64) + "%"
		case key == "nps":
			return strconv.FormatFloat(*x, 'f', 1, 64)
		case key == "ces":
			return strconv.FormatFloat(*x, 'f', 2, 64)
		case strings.HasSuffix(key, "_rate") || strings.HasSuffix(key, "_12m") || strings.HasSuffix(key, "_growth"):
			return strconv.FormatFloat(100**x, 'f', 1, 64)
		case key == "quick_ratio" || key == "ltv_to_cac" || key == "orders_per_year" || key == "order_lifetime_years":
			return strconv.FormatFloat(*x, 'f', 2, 64)
		}
		return amount(*x, currency)
	case float64:
		return amount(x, currency)
	}
	return metrics.CSVValue(v)
}

func amount(v float64, currency string) string {
	exp, err := money.Exponent(currency)
	if err != nil {
		exp = 2
	}
	return strconv.FormatFloat(v, 'f', exp, 64)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// CohortsCmd prints cohort retention.
type CohortsCmd struct {
	rangeFlags
}

// Run computes and prints the cohorts.
func (c CohortsCmd) Run(ctx context.Context, g *Globals) error {
	from, to, asOf, err := c.parse()
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := metrics.Cohorts(ctx, db, from, to, asOf)
	if errors.Is(err, metrics.ErrBadOptions) {
		return UsageError{err}
	}
	if err != nil {
		return err
	}
	switch c.Format {
	case "json":
		return writeJSON(g.stdout, t.Cohorts)
	case "csv":
		var records [][]any
		for _, co := range t.Cohorts {
			for _, o := range co.Offsets {
				records = append(records, []any{co.Cohort, co.Customers, o.Offset, o.Month, o.Customers, o.MRR, o.LogoRetention, o.RevenueRetention})
			}
		}
		return writeRecords(g.stdout, "csv", []string{"cohort", "customers", "offset", "month", "active_customers", "mrr",
			"logo_retention", "revenue_retention"}, records, nil, "")
	}
	for _, part := range []struct {
		title string
		value func(metrics.Offset) float64
	}{{"Logo retention (%)", func(o metrics.Offset) float64 { return o.LogoRetention }},
		{"Revenue retention (%)", func(o metrics.Offset) float64 { return o.RevenueRetention }}} {
		fmt.Fprintf(g.stdout, "%s by months since the first month with MRR; MRR in %s\n", part.title, t.Currency)
		tw := tabwriter.NewWriter(g.stdout, 0, 0, 1, ' ', tabwriter.AlignRight)
		head := []string{"cohort", "customers", "mrr"}
		if len(t.Cohorts) > 0 {
			for i := range t.Cohorts[0].Offsets {
				head = append(head, strconv.Itoa(i))
			}
		}
		fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
		for _, co := range t.Cohorts {
			cells := []string{co.Cohort, strconv.Itoa(co.Customers), amount(co.MRR, t.Currency)}
			for _, o := range co.Offsets {
				cells = append(cells, strconv.FormatFloat(100*part.value(o), 'f', 0, 64))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		tw.Flush()
		fmt.Fprintln(g.stdout)
	}
	return nil
}

// writeRecords prints records as JSON (jsonValue), CSV or an aligned table.
func writeRecords(w io.Writer, format string, header []string, records [][]any, jsonValue any, currency string) error {
	switch format {
	case "json":
		return writeJSON(w, jsonValue)
	case "csv":
		return metrics.WriteCSV(w, header, records)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, r := range records {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = tableValue(header[i], v, currency)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

// SurveysCmd prints NPS, CSAT and CES by month.
type SurveysCmd struct {
	rangeFlags
	By string `help:"Break down by survey, owner, tier or attr:NAME." placeholder:"DIMENSION"`
}

// Run computes and prints the survey table.
func (c SurveysCmd) Run(ctx context.Context, g *Globals) error {
	from, to, asOf, err := c.parse()
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := metrics.Surveys(ctx, db, from, to, c.By, asOf)
	if errors.Is(err, metrics.ErrBadOptions) {
		return UsageError{err}
	}
	if err != nil {
		return err
	}
	header := []string{"month", "nps", "nps_responses", "promoters", "passives", "detractors", "csat", "csat_responses", "ces", "ces_responses"}
	if c.By != "" {
		header = append([]string{"group"}, header...)
	}
	var records [][]any
	for _, r := range rows {
		rec := []any{r.Month, r.NPS, r.NPSResponses, r.Promoters, r.Passives, r.Detractors, r.CSAT, r.CSATResponses, r.CES, r.CESResponses}
		if r.Group != nil {
			rec = append([]any{*r.Group}, rec...)
		}
		records = append(records, rec)
	}
	if rows == nil {
		rows = []metrics.SurveyRow{}
	}
	return writeRecords(g.stdout, c.Format, header, records, rows, "")
}

// RenewalsCmd lists renewals due.
type RenewalsCmd struct {
	Days   int    `default:"90" help:"How many days ahead to look."`
	At     string `help:"Look ahead from this date or RFC 3339 time instead of now." placeholder:"DATE"`
	Format string `default:"table" enum:"table,json,csv" help:"Output: table, json or csv."`
}

// Run lists the renewals.
func (c RenewalsCmd) Run(ctx context.Context, g *Globals) error {
	at := time.Now().UTC().Truncate(time.Second)
	if c.At != "" {
		var err error
		if at, err = metrics.ParseInstant(c.At); err != nil {
			return UsageError{fmt.Errorf("--at: %w", err)}
		}
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := metrics.Renewals(ctx, db, at, c.Days)
	if errors.Is(err, metrics.ErrBadOptions) {
		return UsageError{err}
	}
	if err != nil {
		return err
	}
	header := []string{"renewal_at", "days_left", "account_id", "name", "owner_email", "subscription_id", "plan", "mrr", "arr", "source"}
	var records [][]any
	var total float64
	for _, r := range rows {
		records = append(records, []any{r.RenewalAt.Format(time.DateOnly), r.DaysLeft, r.AccountID, r.Name, r.OwnerEmail,
			r.SubscriptionID, r.Plan, r.MRR, r.ARR, r.Source})
		if r.ARR != nil {
			total += *r.ARR
		}
	}
	if rows == nil {
		rows = []metrics.Renewal{}
	}
	currency := ""
	if c.Format == "table" {
		if currency, err = billing.ReportingCurrency(ctx, db); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%d renewals in the %d days from %s: ARR %s %s\n", len(rows), c.Days, at.Format(time.DateOnly), amount(total, currency), currency)
	}
	return writeRecords(g.stdout, c.Format, header, records, rows, currency)
}
