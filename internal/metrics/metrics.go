// Package metrics computes the SaaS metrics of CONTRACT.md ("Monthly SaaS
// metrics"): MRR and its movements, customer and revenue churn, NRR and GRR,
// ARPA, LTV, CAC, upsell and cross-sell, and cohort retention, by month, week
// or day, optionally broken down by plan, product, currency, owner or a
// custom attribute, and "as of" any past moment.
//
// Every figure is derived from subscription periods in one pass: the periods
// are read once, each account's MRR at every bucket end is built in memory,
// and the movements are folded into per-bucket sums. That keeps the whole
// table of a large business to one sequential read of one table.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/money"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Options choose what [Table] computes.
type Options struct {
	// From and To are instants inside the first and the last bucket of the
	// table (for months, the first day of each month will do).
	From, To time.Time
	// Interval is the bucket length; default Month.
	Interval Interval
	// AsOf, when set, computes the table from the data as Kizuna knew it at
	// that instant: later imports, corrections and deletions are not seen.
	AsOf *time.Time
	// By breaks every figure down: "plan", "product", "currency" (the
	// period's), "owner" (the account's owner), "tier" (the account
	// attribute named by the tier_attribute setting, default "segment"), or
	// "attr:NAME" (any custom attribute of the account). Empty: no breakdown.
	By string
	// Extended adds the figures of [Extended] to every row.
	Extended bool
}

// Row is one bucket of the table. JSON keys are CONTRACT.md's; rates are
// fractions, nil (null) where a denominator is 0. Amounts are major units
// of the reporting currency.
type Row struct {
	// Month is "YYYY-MM" in a monthly table; Period is the first day
	// ("YYYY-MM-DD") of a week or a day in finer tables.
	Month  string `json:"month,omitempty"`
	Period string `json:"period,omitempty"`
	// Group is the breakdown value (the plan, owner, ...) when Options.By is
	// set, nil otherwise. Accounts or periods without a value are group "".
	Group *string `json:"group,omitempty"`

	MRR       float64 `json:"mrr"`
	Customers int     `json:"customers"`

	NewMRR          float64 `json:"new_mrr"`
	ExpansionMRR    float64 `json:"expansion_mrr"`
	ContractionMRR  float64 `json:"contraction_mrr"`
	ChurnedMRR      float64 `json:"churned_mrr"`
	ReactivationMRR float64 `json:"reactivation_mrr"`
	NetNewMRR       float64 `json:"net_new_mrr"`

	NewCustomers         int `json:"new_customers"`
	ReactivatedCustomers int `json:"reactivated_customers"`
	ExpansionCustomers   int `json:"expansion_customers"`
	ContractionCustomers int `json:"contraction_customers"`
	ChurnedCustomers     int `json:"churned_customers"`

	LogoChurnRate     *float64 `json:"logo_churn_rate"`
	GrossMRRChurnRate *float64 `json:"gross_mrr_churn_rate"`
	NetMRRChurnRate   *float64 `json:"net_mrr_churn_rate"`
	QuickRatio        *float64 `json:"quick_ratio"`
	ARPA              *float64 `json:"arpa"`
	LTV               *float64 `json:"ltv"`
	NRR12m            *float64 `json:"nrr_12m"`
	GRR12m            *float64 `json:"grr_12m"`
	UpsellRate        *float64 `json:"upsell_rate"`
	CrossSellRate     *float64 `json:"cross_sell_rate"`
	CAC               *float64 `json:"cac"`
	LTVToCAC          *float64 `json:"ltv_to_cac"`
	// OnboardingCompletionRate is the share of accounts signed up in the
	// month that completed onboarding within its window (monthly tables
	// without breakdown; see internal/onboarding).
	OnboardingCompletionRate *float64 `json:"onboarding_completion_rate"`

	// Extended is nil (and absent from JSON) unless Options.Extended.
	*Extended

	lifetime float64 // expected lifetime in months (1 / mean logo churn), 0 if unknown
}

// Keys are the row's keys in CONTRACT.md's order, for CSV and tables.
var Keys = []string{"month", "mrr", "customers", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
	"reactivation_mrr", "net_new_mrr", "new_customers", "reactivated_customers", "expansion_customers",
	"contraction_customers", "churned_customers", "logo_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate",
	"quick_ratio", "arpa", "ltv", "nrr_12m", "grr_12m", "upsell_rate", "cross_sell_rate", "cac", "ltv_to_cac",
	"onboarding_completion_rate"}

// Values are r's values in the order of [Keys] (the first being the month
// or period), then those of [ExtendedKeys] when r has them; nil for null.
func (r Row) Values() []any {
	label := r.Month
	if label == "" {
		label = r.Period
	}
	v := []any{label, r.MRR, r.Customers, r.NewMRR, r.ExpansionMRR, r.ContractionMRR, r.ChurnedMRR,
		r.ReactivationMRR, r.NetNewMRR, r.NewCustomers, r.ReactivatedCustomers, r.ExpansionCustomers,
		r.ContractionCustomers, r.ChurnedCustomers, r.LogoChurnRate, r.GrossMRRChurnRate, r.NetMRRChurnRate,
		r.QuickRatio, r.ARPA, r.LTV, r.NRR12m, r.GRR12m, r.UpsellRate, r.CrossSellRate, r.CAC, r.LTVToCAC,
		r.OnboardingCompletionRate}
	if r.Extended != nil {
		v = append(v, r.Extended.Values()...)
	}
	return v
}

// Table is a computed table: its rows in bucket order (grouped by breakdown
// value when there is one, groups in name order).
type Table struct {
	Currency string    `json:"currency"`
	Interval Interval  `json:"interval"`
	AsOf     time.Time `json:"as_of"`
	By       string    `json:"by,omitempty"`
	Rows     []Row     `json:"rows"`
}

// ErrBadOptions wraps every complaint about Options, so callers can answer 400.
var ErrBadOptions = errors.New("bad options")

// MaxBuckets bounds a table's length (about 27 years of days), so a typo in
// a date cannot make the server build a table of a million rows.
const MaxBuckets = 10000

// ltvWindow is how many buckets the churn rate in LTV is averaged over.
const ltvWindow = 6

// Compute builds the table that opts ask for.
func Compute(ctx context.Context, q store.Querier, opts Options) (*Table, error) {
	iv, err := ParseInterval(string(opts.Interval))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	from, to := iv.bucketOf(opts.From.Unix()), iv.bucketOf(opts.To.Unix())
	if to < from {
		return nil, fmt.Errorf("%w: to %s is before from %s", ErrBadOptions, iv.label(to), iv.label(from))
	}
	if to-from+1 > MaxBuckets {
		return nil, fmt.Errorf("%w: %d %ss is more than the %d a table may hold", ErrBadOptions, to-from+1, iv, MaxBuckets)
	}
	asOf := time.Now().UTC().Truncate(time.Second)
	if opts.AsOf != nil {
		asOf = opts.AsOf.UTC()
	}
	lo := from - max(iv.yearBack(), ltvWindow)
	in, src, conv, repExp, err := prepare(ctx, q, iv, opts.By, opts.AsOf, lo, to, opts.Extended)
	if err != nil {
		return nil, err
	}
	sums := compute(in)

	// Acquisition costs per bucket from lo, in minor units of the reporting
	// currency; NaN for a month without any.
	var acquisition []float64
	if iv == Month {
		if acquisition, err = costs(ctx, q, "acquisition", conv, repExp, opts.AsOf, lo, to); err != nil {
			return nil, err
		}
	}
	// One read of the margins: the default one goes into ltv, the ones by
	// product and plan into the extended gross profit.
	m, err := loadMargins(ctx, q)
	if err != nil {
		return nil, err
	}
	var gp [][]float64
	var retention []float64
	var orders *orderStats
	if opts.Extended {
		gp = grossProfit(in, src, m)
		if iv == Month && opts.By == "" {
			if retention, err = costs(ctx, q, "retention", conv, repExp, opts.AsOf, lo, to); err != nil {
				return nil, err
			}
			if orders, err = loadOrders(ctx, q, conv, repExp, opts.AsOf, lo, to); err != nil {
				return nil, err
			}
		}
	}
	t := &Table{Currency: conv.Reporting, Interval: iv, AsOf: asOf, By: opts.By}
	unit := math.Pow10(repExp)
	for g, name := range src.groups {
		rows := rowsOf(iv, sums[g], lo, from, unit, m.def, acquisition, opts.By == "")
		if opts.Extended {
			extend(rows, sums[g], gp[g], lo, from, unit, retention, orders, opts.By == "" && iv == Month)
		}
		if opts.By != "" {
			for i := range rows {
				rows[i].Group = &name
			}
		}
		t.Rows = append(t.Rows, rows...)
	}
	if err := fillOnboarding(ctx, q, t, asOf); err != nil {
		return nil, err
	}
	return t, nil
}

// prepare loads the periods and the exchange rates for buckets lo..to.
func prepare(ctx context.Context, q store.Querier, iv Interval, by string, asOf *time.Time, lo, to int, withPlan bool) (input, *source, *billing.Converter, int, error) {
	src, err := load(ctx, q, iv, by, asOf, to, withPlan)
	if err != nil {
		return input{}, nil, nil, 0, err
	}
	base := lo
	for _, s := range src.spans {
		base = min(base, int(s.first))
	}
	conv, err := billing.LoadConverterAsOf(ctx, q, asOf)
	if err != nil {
		return input{}, nil, nil, 0, err
	}
	repExp, err := money.Exponent(conv.Reporting)
	if err != nil {
		return input{}, nil, nil, 0, fmt.Errorf("reporting currency: %w", err)
	}
	rate := make([][]float64, len(src.currencies))
	for c, code := range src.currencies {
		exp, err := money.Exponent(code)
		if err != nil {
			return input{}, nil, nil, 0, fmt.Errorf("metrics: subscription periods in %s: %w", code, err)
		}
		scale := math.Pow10(repExp - exp)
		rate[c] = make([]float64, to-base+1)
		for i := range rate[c] {
			r, err := conv.Rate(code, time.Unix(iv.end(base+i), 0))
			if err != nil {
				return input{}, nil, nil, 0, fmt.Errorf("metrics: subscription periods in %s: %w (set one with `kizuna fx set %s DAY RATE`)", code, err, code)
			}
			rate[c][i] = r * scale
		}
	}
	in := input{interval: iv, lo: lo, to: to, base: base, spans: src.spans,
		group: src.unitGroup, groups: len(src.groups), rate: rate, products: len(src.products)}
	return in, src, conv, repExp, nil
}

// rowsOf turns one group's sums (from bucket lo) into the rows of buckets
// from on. Amounts are divided by unit (10^exponent of the reporting
// currency) only here, so that sums of one currency stay exact integers.
func rowsOf(iv Interval, sums []agg, lo, from int, unit, margin float64, acquisition []float64, withCosts bool) []Row {
	churn := make([]*float64, len(sums)) // logo churn rate per bucket
	for k := 1; k < len(sums); k++ {
		churn[k] = ratio(float64(sums[k].churnedN), float64(sums[k-1].customers))
	}
	major := func(minor float64) float64 { return toMajor(minor, unit) }
	var rows []Row
	for k := from - lo; k < len(sums); k++ {
		a, prev := sums[k], sums[k-1]
		r := Row{
			MRR: major(a.mrr), Customers: a.customers,
			NewMRR: major(a.newMRR), ExpansionMRR: major(a.expansion), ContractionMRR: major(a.contraction),
			ChurnedMRR: major(a.churned), ReactivationMRR: major(a.reactivate),
			NewCustomers: a.newN, ReactivatedCustomers: a.reactN, ExpansionCustomers: a.expansionN,
			ContractionCustomers: a.contractionN, ChurnedCustomers: a.churnedN,
		}
		r.NetNewMRR = major(a.newMRR + a.reactivate + a.expansion - a.contraction - a.churned)
		if iv == Month {
			r.Month = iv.label(lo + k)
		} else {
			r.Period = iv.label(lo + k)
		}
		lost := a.churned + a.contraction
		r.LogoChurnRate = churn[k]
		r.GrossMRRChurnRate = ratio(lost, prev.mrr)
		r.NetMRRChurnRate = ratio(lost-a.expansion-a.reactivate, prev.mrr)
		r.QuickRatio = ratio(a.newMRR+a.reactivate+a.expansion, lost)
		if arpa := ratio(a.mrr, float64(a.customers)); arpa != nil {
			v := major(*arpa)
			r.ARPA = &v
		}
		r.UpsellRate = ratio(float64(a.expansionN), float64(prev.customers))
		r.CrossSellRate = ratio(float64(a.crossSell), float64(prev.customers))
		r.NRR12m = ratio(a.nrrNow, a.nrrBase)
		r.GRR12m = ratio(a.grrNow, a.nrrBase)
		// LTV is ARPA (a monthly amount) over a monthly churn rate; weekly
		// or daily rates would make it a different quantity, so finer
		// tables leave it (and CAC, whose costs are monthly) out.
		if iv == Month && r.ARPA != nil {
			var sum float64
			var n int
			for j := max(1, k-ltvWindow+1); j <= k; j++ {
				if churn[j] != nil {
					sum += *churn[j]
					n++
				}
			}
			if n > 0 && sum > 0 {
				r.lifetime = float64(n) / sum
				v := *r.ARPA * margin * r.lifetime
				r.LTV = &v
			}
		}
		// A month without an imported cost has no CAC (rather than a CAC of 0).
		if withCosts && acquisition != nil && !math.IsNaN(acquisition[k]) {
			if cac := ratio(acquisition[k], float64(a.newN)); cac != nil {
				v := major(*cac)
				r.CAC = &v
				if r.LTV != nil && v > 0 {
					x := *r.LTV / v
					r.LTVToCAC = &x
				}
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// toMajor turns an amount in minor units of the reporting currency into
// major units (unit is 10^exponent). Sums of converted amounts carry float
// noise (70.00000000000001), so it rounds to a ten-thousandth of a minor
// unit, far below any display.
func toMajor(minor, unit float64) float64 { return math.Round(minor*1e4) / (1e4 * unit) }

// ratio is a/b, or nil when b is 0.
func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := a / b
	return &v
}
