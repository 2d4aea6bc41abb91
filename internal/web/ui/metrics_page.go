package ui

import (
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/chart"
	"github.com/kizuna-cs/kizuna/internal/metrics"
)

// maxPageMonths bounds the metrics page's range: wider tables and cohort
// grids stop being readable (the API serves longer ones).
const maxPageMonths = 60

var monthRe = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// monthRange reads ?from= and ?to= (YYYY-MM; default the 12 months ending
// with the last complete one) or says which is wrong and why.
func monthRange(rq *Request) (from, to time.Time, err error) {
	q := rq.URL.Query()
	to = lastCompleteMonth(time.Now())
	from = to.AddDate(0, -11, 0)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		s := q.Get(p.name)
		if s == "" {
			continue
		}
		if !monthRe.MatchString(s) {
			return from, to, Errorf(http.StatusBadRequest, rq.Loc.T("%s: %q is not a month; write it as YYYY-MM, e.g. 2026-04.", p.name, s))
		}
		*p.dst, _ = time.Parse("2006-01", s)
	}
	if to.Before(from) {
		return from, to, Errorf(http.StatusBadRequest, rq.Loc.T("to: %s is before from (%s).", to.Format("2006-01"), from.Format("2006-01")))
	}
	if n := months(from, to); n > maxPageMonths {
		return from, to, Errorf(http.StatusBadRequest, rq.Loc.T("to: %d months from %s is more than the %d this page shows.", n, from.Format("2006-01"), maxPageMonths))
	}
	return from, to, nil
}

// months counts the months from..to, both included.
func months(from, to time.Time) int {
	return (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
}

// metricLine is one metric across the months of the table.
type metricLine struct {
	Key, Label string
	Cells      []string
}

// metricsView is the metrics page's data.
type metricsView struct {
	From, To  string
	Retention string // logo or revenue
	Currency  string
	Months    []string
	Lines     []metricLine
	MRR       chart.Chart
	NRR       chart.Chart
	Churn     chart.Chart
	Onboard   chart.Chart
	Cohorts   chart.Chart
	HasCohort bool
}

func (u *UI) metricsPage(w http.ResponseWriter, rq *Request) error {
	from, to, err := monthRange(rq)
	if err != nil {
		return err
	}
	retention := rq.URL.Query().Get("retention")
	switch retention {
	case "":
		retention = "logo"
	case "logo", "revenue":
	default:
		return Errorf(http.StatusBadRequest, rq.Loc.T("retention: %q is neither logo nor revenue.", retention))
	}
	ctx := rq.Context()
	t, err := metrics.Compute(ctx, u.db, metrics.Options{From: from, To: to})
	if err != nil {
		return fmt.Errorf("metrics page: %w", err)
	}
	ct, err := metrics.Cohorts(ctx, u.db, from, to, nil)
	if err != nil {
		return fmt.Errorf("metrics page: cohorts: %w", err)
	}
	l, cur := rq.Loc, t.Currency
	v := &metricsView{From: from.Format("2006-01"), To: to.Format("2006-01"), Retention: retention, Currency: cur}
	for _, r := range t.Rows {
		v.Months = append(v.Months, l.Month(r.Month))
	}
	v.Lines = metricLines(l, t)
	series := func(name string, get func(metrics.Row) *float64) chart.Series {
		s := chart.Series{Name: name}
		for _, r := range t.Rows {
			x := math.NaN()
			if p := get(r); p != nil {
				x = *p
			}
			s.Values = append(s.Values, x)
		}
		return s
	}
	money := func(x float64) string { return l.MoneyShort(x, cur) }
	mrr := chart.Series{Name: l.T("MRR")}
	for _, r := range t.Rows {
		mrr.Values = append(mrr.Values, r.MRR)
	}
	v.MRR = chart.Bars(l.T("MRR at the end of each month (%s)", cur), v.Months, []chart.Series{mrr}, money)
	v.NRR = chart.Lines(l.T("Net and gross revenue retention over the 12 months to each month"), v.Months, []chart.Series{
		series(l.T("NRR"), func(r metrics.Row) *float64 { return r.NRR12m }),
		series(l.T("GRR"), func(r metrics.Row) *float64 { return r.GRR12m })}, l.Pct)
	v.Churn = chart.Lines(l.T("Logo churn and gross MRR churn (cancellations and contraction) by month"), v.Months, []chart.Series{
		series(l.T("Logo churn rate"), func(r metrics.Row) *float64 { return r.LogoChurnRate }),
		series(l.T("Gross MRR churn rate"), func(r metrics.Row) *float64 { return r.GrossMRRChurnRate })}, l.Pct)
	v.Onboard = chart.Lines(l.T("Onboarding completion by signup month (empty while a window is open)"), v.Months, []chart.Series{
		series(l.T("Onboarding completion"), func(r metrics.Row) *float64 { return r.OnboardingCompletionRate })}, l.Pct)
	v.Cohorts, v.HasCohort = cohortChart(l, ct, retention)
	return u.render(w, rq, http.StatusOK, "metrics", l.T("Metrics"), v)
}

// cohortChart is the retention heat map: a row per cohort (signup month),
// a column per month since.
func cohortChart(l *Locale, ct *metrics.CohortTable, retention string) (chart.Chart, bool) {
	var rows, cols []string
	var values [][]float64
	width := 0
	for _, c := range ct.Cohorts {
		if c.Customers == 0 {
			continue
		}
		rows = append(rows, l.T("%s (%d)", l.Month(c.Cohort), c.Customers))
		line := make([]float64, len(c.Offsets))
		for i, o := range c.Offsets {
			line[i] = o.LogoRetention
			if retention == "revenue" {
				line[i] = o.RevenueRetention
			}
		}
		values = append(values, line)
		width = max(width, len(line))
	}
	for i := range width {
		cols = append(cols, strconv.Itoa(i))
	}
	caption := l.T("Logo retention by signup month (rows, with the cohort's customers) and months since (columns)")
	if retention == "revenue" {
		caption = l.T("Revenue retention by signup month (rows, with the cohort's customers) and months since (columns)")
	}
	return chart.Heatmap(caption, rows, cols, values, l.Pct), len(rows) > 0
}

// metricLines are the table's rows: every key of CONTRACT.md's monthly
// table in its order, formatted for the reader.
func metricLines(l *Locale, t *metrics.Table) []metricLine {
	labels := metricLabels(l)
	var out []metricLine
	for k, key := range metrics.Keys[1:] {
		line := metricLine{Key: key, Label: labels[key]}
		if line.Label == "" {
			line.Label = key
		}
		for _, r := range t.Rows {
			line.Cells = append(line.Cells, metricCell(l, key, r.Values()[k+1], t.Currency))
		}
		out = append(out, line)
	}
	return out
}

// metricLabels name the keys of CONTRACT.md's monthly table for people.
func metricLabels(l *Locale) map[string]string {
	return map[string]string{
		"mrr": l.T("MRR"), "customers": l.T("Customers"), "new_mrr": l.T("New MRR"), "expansion_mrr": l.T("Expansion MRR"),
		"contraction_mrr": l.T("Contraction MRR"), "churned_mrr": l.T("Churned MRR"), "reactivation_mrr": l.T("Reactivation MRR"),
		"net_new_mrr": l.T("Net new MRR"), "new_customers": l.T("New customers"), "reactivated_customers": l.T("Reactivated customers"),
		"expansion_customers": l.T("Expanding customers"), "contraction_customers": l.T("Contracting customers"),
		"churned_customers": l.T("Churned customers"), "logo_churn_rate": l.T("Logo churn rate"),
		"gross_mrr_churn_rate": l.T("Gross MRR churn rate"), "net_mrr_churn_rate": l.T("Net MRR churn rate"),
		"quick_ratio": l.T("Quick ratio"), "arpa": l.T("ARPA"), "ltv": l.T("LTV"), "nrr_12m": l.T("NRR (12 months)"),
		"grr_12m": l.T("GRR (12 months)"), "upsell_rate": l.T("Upsell rate"), "cross_sell_rate": l.T("Cross-sell rate"),
		"cac": l.T("CAC"), "ltv_to_cac": l.T("LTV:CAC"), "onboarding_completion_rate": l.T("Onboarding completion rate"),
	}
}

// metricCell formats one value: counts as integers, rates as percentages,
// ratios to two decimals, amounts in the currency; null as "–".
func metricCell(l *Locale, key string, v any, cur string) string {
	switch x := v.(type) {
	case int:
		return l.Int(x)
	case float64:
		return l.Money(x, cur)
	case *float64:
		if x == nil {
			return "–"
		}
		switch key {
		case "quick_ratio", "ltv_to_cac":
			return l.Num(*x, 2)
		case "arpa", "ltv", "cac":
			return l.Money(*x, cur)
		}
		return l.Pct(*x)
	}
	return fmt.Sprint(v)
}

// metricsCSV downloads the monthly table: the columns and values of
// `kizuna metrics monthly --format csv` (numbers in full, nulls empty).
func (u *UI) metricsCSV(w http.ResponseWriter, rq *Request) error {
	from, to, err := monthRange(rq)
	if err != nil {
		return err
	}
	t, err := metrics.Compute(rq.Context(), u.db, metrics.Options{From: from, To: to})
	if err != nil {
		return fmt.Errorf("metrics csv: %w", err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="kizuna-metrics-%s-%s.csv"`, from.Format("2006-01"), to.Format("2006-01")))
	w.Header().Set("Cache-Control", "no-store")
	return t.WriteCSV(w)
}
