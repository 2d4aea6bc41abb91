package goal

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Kinds of metric value, which say how a value reads: an amount in the
// reporting currency, a fraction (shown as a percentage), a count, a ratio
// or a score (NPS, −100 to 100; CES, 1 to 7).
const (
	KindAmount = "amount"
	KindRate   = "rate"
	KindCount  = "count"
	KindRatio  = "ratio"
	KindScore  = "score"
)

// Metric is a metric a goal can target.
type Metric struct {
	Key  string `json:"key"`
	Kind string `json:"kind" enum:"amount,rate,count,ratio,score"`
	// LowerIsBetter gives the default direction: at_most for churn rates,
	// lost MRR, CAC and CES, at_least for everything else.
	LowerIsBetter bool `json:"lower_is_better"`
	// Survey is true for nps, csat and ces, which come from the survey
	// answers of the month rather than from the subscription periods.
	Survey bool `json:"survey"`
	// Min and Max are the values the metric can take (null: unbounded), so
	// that a forecast is not a churn rate below 0 % or an NPS over 100.
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
}

// Clamp brings x into the metric's range: a trend line runs on past what
// the metric can be (a falling churn rate heads below 0 %, a rising NPS
// over 100), and a forecast must not.
func (m Metric) Clamp(x float64) float64 {
	if m.Min != nil {
		x = math.Max(x, *m.Min)
	}
	if m.Max != nil {
		x = math.Min(x, *m.Max)
	}
	return x
}

// valueRange is the range of key's values: shares of customers or of MRR
// lie in [0, 1]; NPS in [−100, 100], CES in [1, 7]; what can move either
// way (net new MRR, net MRR churn, the growth rates, cost-aware LTV) is
// unbounded; every other amount, count and ratio is at least 0.
func valueRange(key string) (lo, hi *float64) {
	f := func(x float64) *float64 { return &x }
	switch key {
	case "logo_churn_rate", "gross_mrr_churn_rate", "revenue_churn_rate", "grr_12m", "upsell_rate", "cross_sell_rate",
		"onboarding_completion_rate", "csat":
		return f(0), f(1)
	case "nps":
		return f(-100), f(100)
	case "ces":
		return f(1), f(7)
	case "net_new_mrr", "net_mrr_churn_rate", "arpa_growth", "gross_profit_arpa_growth", "gross_profit_mrr", "cost_aware_ltv":
		return nil, nil
	}
	return f(0), nil
}

// Metrics are every metric a goal can target: the keys of `kizuna metrics
// monthly` (CONTRACT.md, with --extended), arr (12 × mrr), and the
// monthly survey scores nps, csat and ces. Each month-end actual is the
// value the metrics page and the API show for that month.
var Metrics = buildMetrics()

// aliases are the short names people use for a metric.
var aliases = map[string]string{"nrr": "nrr_12m", "grr": "grr_12m", "churn_rate": "logo_churn_rate"}

func buildMetrics() []Metric {
	lower := map[string]bool{"churned_mrr": true, "contraction_mrr": true, "churned_customers": true,
		"contraction_customers": true, "logo_churn_rate": true, "gross_mrr_churn_rate": true, "net_mrr_churn_rate": true,
		"cac": true, "revenue_churn_rate": true, "retention_cost_per_customer": true, "ces": true}
	kind := func(key string) string {
		switch {
		case key == "customers" || strings.HasSuffix(key, "_customers"):
			return KindCount
		case strings.HasSuffix(key, "_rate") || strings.HasSuffix(key, "_12m") || strings.HasSuffix(key, "_growth") || key == "csat":
			return KindRate
		case key == "quick_ratio" || key == "ltv_to_cac" || key == "orders_per_year" || key == "order_lifetime_years":
			return KindRatio
		case key == "nps" || key == "ces":
			return KindScore
		}
		return KindAmount
	}
	var out []Metric
	add := func(key string, survey bool) {
		lo, hi := valueRange(key)
		out = append(out, Metric{Key: key, Kind: kind(key), LowerIsBetter: lower[key], Survey: survey, Min: lo, Max: hi})
	}
	for _, k := range metrics.Keys[1:] {
		add(k, false)
		if k == "mrr" {
			add("arr", false)
		}
	}
	for _, k := range metrics.ExtendedKeys {
		add(k, false)
	}
	for _, k := range []string{"nps", "csat", "ces"} {
		add(k, true)
	}
	return out
}

// MetricKeys are the keys of [Metrics], in order.
func MetricKeys() []string {
	keys := make([]string, len(Metrics))
	for i, m := range Metrics {
		keys[i] = m.Key
	}
	return keys
}

// LookupMetric finds a metric by key or alias (nrr, grr, churn_rate).
func LookupMetric(key string) (Metric, bool) {
	key = strings.ToLower(strings.TrimSpace(key))
	if k, ok := aliases[key]; ok {
		key = k
	}
	i := slices.IndexFunc(Metrics, func(m Metric) bool { return m.Key == key })
	if i < 0 {
		return Metric{}, false
	}
	return Metrics[i], true
}

// GoalScope is what part of the business a goal's metric is computed over:
// everything (By ""), one owner's accounts (By "owner", Value the email)
// or one tier (By "tier", Value as the tier_attribute setting names it).
type GoalScope struct {
	By    string `json:"by,omitempty" enum:"owner,tier" doc:"Compute the metric over one owner's accounts or one tier only; absent: the whole business."`
	Value string `json:"value,omitempty" maxLength:"255" doc:"The owner's email or the tier."`
}

// Scopes are the breakdowns a goal can be scoped by.
var Scopes = []string{"owner", "tier"}

// Actuals are month-end values of the metrics for months From..To, per
// scope: the same computation as the metrics page, done once per scope for
// however many goals share it.
type Actuals struct {
	From, To time.Time // first instants of the first and the last month
	Currency string
	values   map[GoalScope]map[string][]*float64 // scope → metric key → value per month from From
}

// month numbers (months since year 0) make month arithmetic plain integers.
func monthNum(t time.Time) int { t = t.UTC(); return t.Year()*12 + int(t.Month()) - 1 }

func monthTime(n int) time.Time { return time.Date(n/12, time.Month(n%12+1), 1, 0, 0, 0, 0, time.UTC) }

func monthLabel(n int) string { return monthTime(n).Format("2006-01") }

// LoadActuals computes every metric for months from..to (instants inside
// the first and the last month) for each of the scopes, from the data as
// it is now.
func LoadActuals(ctx context.Context, q store.Querier, from, to time.Time, scopes []GoalScope) (*Actuals, error) {
	lo, hi := monthNum(from), monthNum(to)
	a := &Actuals{From: monthTime(lo), To: monthTime(hi), values: map[GoalScope]map[string][]*float64{}}
	if hi < lo {
		return a, nil
	}
	n := hi - lo + 1
	keys := append(append([]string(nil), metrics.Keys...), metrics.ExtendedKeys...)
	for _, sc := range scopes {
		if _, done := a.values[sc]; done {
			continue
		}
		vals := map[string][]*float64{}
		for _, m := range Metrics {
			vals[m.Key] = make([]*float64, n)
		}
		t, err := metrics.Compute(ctx, q, metrics.Options{From: a.From, To: a.To, By: sc.By, Extended: true})
		if err != nil {
			return nil, fmt.Errorf("goal actuals: %w", err)
		}
		a.Currency = t.Currency
		for _, r := range t.Rows {
			if sc.By != "" && (r.Group == nil || *r.Group != sc.Value) {
				continue
			}
			t, err := metrics.ParseMonth(r.Month)
			if err != nil {
				return nil, fmt.Errorf("goal actuals: %w", err)
			}
			i := monthNum(t) - lo
			for k, v := range r.Values() {
				if k == 0 || k >= len(keys) {
					continue
				}
				vals[keys[k]][i] = number(v)
			}
			arr := 12 * r.MRR
			vals["arr"][i] = &arr
		}
		rows, err := metrics.Surveys(ctx, q, a.From, a.To, sc.By, nil)
		if err != nil {
			return nil, fmt.Errorf("goal actuals: %w", err)
		}
		for _, r := range rows {
			if sc.By != "" && (r.Group == nil || *r.Group != sc.Value) {
				continue
			}
			t, err := metrics.ParseMonth(r.Month)
			if err != nil {
				return nil, fmt.Errorf("goal actuals: %w", err)
			}
			i := monthNum(t) - lo
			vals["nps"][i], vals["csat"][i], vals["ces"][i] = r.NPS, r.CSAT, r.CES
		}
		a.values[sc] = vals
	}
	return a, nil
}

// number turns a value of metrics.Row.Values into a nullable float.
func number(v any) *float64 {
	switch x := v.(type) {
	case *float64:
		return x
	case float64:
		return &x
	case int:
		f := float64(x)
		return &f
	}
	return nil
}

// Series is the month-end values of metric in scope for months lo..hi
// (month numbers); months outside what a was loaded for are null.
func (a *Actuals) series(sc GoalScope, metric string, lo, hi int) []MonthValue {
	vals := a.values[sc][metric]
	base := monthNum(a.From)
	out := make([]MonthValue, 0, max(hi-lo+1, 0))
	for m := lo; m <= hi; m++ {
		p := MonthValue{Month: monthLabel(m)}
		if i := m - base; i >= 0 && i < len(vals) {
			p.Value = vals[i]
		}
		out = append(out, p)
	}
	return out
}
