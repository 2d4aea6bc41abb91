package metrics

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Extended are the figures beyond CONTRACT.md's table that the seeds judge
// customer success by (DOMAIN.md "Formulas"): revenue churn, growth of
// revenue and gross profit per customer, and LTV by cost and by orders.
// Rows carry them only when Options.Extended is set.
type Extended struct {
	// RevenueChurnRate is the seeds' レベニューチャーン: MRR lost to
	// cancellations alone (not to contraction) over the MRR before.
	RevenueChurnRate *float64 `json:"revenue_churn_rate"`
	// ARPAGrowth is arpa over the previous bucket's arpa, less 1.
	ARPAGrowth *float64 `json:"arpa_growth"`
	// GrossProfitMRR is MRR times the gross margin of each period's product
	// or plan (settings gross_margin.product.NAME, gross_margin.plan.NAME,
	// else gross_margin, else 1).
	GrossProfitMRR float64 `json:"gross_profit_mrr"`
	// GrossProfitARPA and its growth: profit per customer, which the seeds
	// prefer to revenue per customer.
	GrossProfitARPA       *float64 `json:"gross_profit_arpa"`
	GrossProfitARPAGrowth *float64 `json:"gross_profit_arpa_growth"`
	// RetentionCostPerCustomer is the month's retention costs over its customers.
	RetentionCostPerCustomer *float64 `json:"retention_cost_per_customer"`
	// CostAwareLTV is (gross-profit ARPA − retention cost per customer) over
	// the mean logo churn rate (as in ltv), less CAC: what a customer is
	// worth after what it cost to win and keep.
	CostAwareLTV *float64 `json:"cost_aware_ltv"`
	// The order-based LTV of the 12 months ending here: average order value
	// × orders per purchasing account a year × expected lifetime in years,
	// where the lifetime is 1 / (1 − the share of the previous 12 months'
	// purchasers who bought again in these 12 months).
	OrderValue         *float64 `json:"order_value"`
	OrdersPerYear      *float64 `json:"orders_per_year"`
	OrderLifetimeYears *float64 `json:"order_lifetime_years"`
	OrderLTV           *float64 `json:"order_ltv"`
}

// ExtendedKeys are the JSON keys of [Extended], in order.
var ExtendedKeys = []string{"revenue_churn_rate", "arpa_growth", "gross_profit_mrr", "gross_profit_arpa",
	"gross_profit_arpa_growth", "retention_cost_per_customer", "cost_aware_ltv", "order_value", "orders_per_year",
	"order_lifetime_years", "order_ltv"}

// Values are x's values in the order of [ExtendedKeys], nil for null.
func (x *Extended) Values() []any {
	return []any{x.RevenueChurnRate, x.ARPAGrowth, x.GrossProfitMRR, x.GrossProfitARPA, x.GrossProfitARPAGrowth,
		x.RetentionCostPerCustomer, x.CostAwareLTV, x.OrderValue, x.OrdersPerYear, x.OrderLifetimeYears, x.OrderLTV}
}

// margins are the gross margins by product and plan.
type margins struct {
	def             float64
	product, byPlan map[string]float64
}

// loadMargins reads the gross_margin settings.
func loadMargins(ctx context.Context, q store.Querier) (margins, error) {
	m := margins{def: 1, product: map[string]float64{}, byPlan: map[string]float64{}}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings WHERE key = 'gross_margin' OR key LIKE 'gross_margin.%'`)
	if err != nil {
		return m, fmt.Errorf("metrics: read gross margins: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return m, fmt.Errorf("metrics: read gross margins: %w", err)
		}
		v, err := ParseMargin(value)
		if err != nil {
			return m, fmt.Errorf("setting %s: %w", key, err)
		}
		switch {
		case key == "gross_margin":
			m.def = v
		case strings.HasPrefix(key, "gross_margin.product."):
			m.product[strings.TrimPrefix(key, "gross_margin.product.")] = v
		case strings.HasPrefix(key, "gross_margin.plan."):
			m.byPlan[strings.TrimPrefix(key, "gross_margin.plan.")] = v
		}
	}
	return m, rows.Err()
}

// ParseMargin parses a gross margin: a fraction in [0, 1].
func ParseMargin(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a fraction between 0 and 1", s)
	}
	return v, nil
}

func (m margins) of(product, plan string) float64 {
	if v, ok := m.product[product]; ok {
		return v
	}
	if v, ok := m.byPlan[plan]; ok {
		return v
	}
	return m.def
}

// grossProfit sums MRR times margin per group and bucket lo..to, in minor
// units of the reporting currency.
func grossProfit(in input, src *source, m margins) [][]float64 {
	out := make([][]float64, in.groups)
	for g := range out {
		out[g] = make([]float64, in.to-in.lo+1)
	}
	factor := map[[2]uint16]float64{}
	for _, s := range in.spans {
		key := [2]uint16{s.product, s.plan}
		f, ok := factor[key]
		if !ok {
			f = m.of(src.products[s.product], src.plans[s.plan])
			factor[key] = f
		}
		sums := out[in.group[s.unit]]
		rates := in.rate[s.cur]
		for i := max(int(s.first), in.lo); i <= min(int(s.last), in.to); i++ {
			sums[i-in.lo] += float64(s.mrr) * rates[i-in.base] * f
		}
	}
	return out
}

// extend adds the Extended figures to rows (the buckets from..to of one
// group, whose sums from lo are sums). Costs and orders are business-wide,
// so only an unbroken-down table (withCosts) has the figures built on them.
func extend(rows []Row, sums []agg, gp []float64, lo, from int, unit float64, retention []float64, orders *orderStats, withCosts bool) {
	for n := range rows {
		k := from - lo + n
		a, prev := sums[k], sums[k-1]
		r := &rows[n]
		x := &Extended{GrossProfitMRR: toMajor(gp[k], unit)}
		r.Extended = x
		x.RevenueChurnRate = ratio(a.churned, prev.mrr)
		if r.ARPA != nil && prev.customers > 0 && prev.mrr > 0 {
			g := *r.ARPA/(prev.mrr/float64(prev.customers)/unit) - 1
			x.ARPAGrowth = &g
		}
		if gpa := ratio(gp[k], float64(a.customers)); gpa != nil {
			v := toMajor(*gpa, unit)
			x.GrossProfitARPA = &v
			if prev.customers > 0 && gp[k-1] > 0 {
				g := v/(gp[k-1]/float64(prev.customers)/unit) - 1
				x.GrossProfitARPAGrowth = &g
			}
		}
		if !withCosts {
			continue
		}
		if retention != nil && !math.IsNaN(retention[k]) && a.customers > 0 {
			v := toMajor(retention[k]/float64(a.customers), unit)
			x.RetentionCostPerCustomer = &v
		}
		if r.lifetime > 0 && x.GrossProfitARPA != nil {
			keep := 0.0
			if x.RetentionCostPerCustomer != nil {
				keep = *x.RetentionCostPerCustomer
			}
			v := (*x.GrossProfitARPA - keep) * r.lifetime
			if r.CAC != nil {
				v -= *r.CAC
			}
			x.CostAwareLTV = &v
		}
		if orders != nil {
			orders.fill(x, k)
		}
	}
}

// orderStats are per-bucket order figures over trailing 12-month windows.
type orderStats struct {
	value, perYear, lifetime []*float64
}

func (o *orderStats) fill(x *Extended, k int) {
	x.OrderValue, x.OrdersPerYear, x.OrderLifetimeYears = o.value[k], o.perYear[k], o.lifetime[k]
	if o.value[k] != nil && o.perYear[k] != nil && o.lifetime[k] != nil {
		v := *o.value[k] * *o.perYear[k] * *o.lifetime[k]
		x.OrderLTV = &v
	}
}

// loadOrders computes order value, frequency and lifetime for the 12 months
// ending at each month lo..to, from orders recorded by asOf (nil: all).
// Amounts are converted at each order's date.
func loadOrders(ctx context.Context, q store.Querier, conv *billing.Converter, repExp int, asOf *time.Time, lo, to int) (*orderStats, error) {
	var known int64 = math.MaxInt64
	if asOf != nil {
		known = asOf.Unix()
	}
	first := lo - 23 // the previous window of the first month starts here
	rows, err := q.QueryContext(ctx, `SELECT account_id, ordered_at, amount_minor, currency FROM orders
		WHERE recorded_at <= $1 AND ordered_at >= $2 AND ordered_at < $3`, known, Month.start(first), Month.start(to+1))
	if err != nil {
		return nil, fmt.Errorf("metrics: read orders: %w", err)
	}
	defer rows.Close()
	n := to - first + 1
	type acc struct{ count []int32 }
	accounts := map[string]*acc{}
	amount := make([]float64, n) // all orders' value per month
	count := make([]int, n)
	scale := math.Pow10(repExp)
	for rows.Next() {
		var id, cur string
		var at, minor int64
		if err := rows.Scan(&id, &at, &minor, &cur); err != nil {
			return nil, fmt.Errorf("metrics: read orders: %w", err)
		}
		v, err := conv.Convert(minor, cur, time.Unix(at, 0))
		if err != nil {
			return nil, fmt.Errorf("metrics: orders: %w", err)
		}
		m := Month.bucketOf(at) - first
		a := accounts[id]
		if a == nil {
			a = &acc{count: make([]int32, n)}
			accounts[id] = a
		}
		a.count[m]++
		amount[m] += v * scale
		count[m]++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(accounts) == 0 {
		return nil, nil
	}
	out := &orderStats{value: make([]*float64, to-lo+1), perYear: make([]*float64, to-lo+1), lifetime: make([]*float64, to-lo+1)}
	// window(a, m): orders of a in the 12 months ending m (m relative to first).
	window := func(c []int32, m int) int32 {
		var s int32
		for i := max(0, m-11); i <= m; i++ {
			s += c[i]
		}
		return s
	}
	for k := range out.value {
		m := lo + k - first
		var value float64
		var orders int
		for i := m - 11; i <= m; i++ {
			value += amount[i]
			orders += count[i]
		}
		var buyers, before, again int
		for _, a := range accounts {
			now, prev := window(a.count, m) > 0, m >= 12 && window(a.count, m-12) > 0
			if now {
				buyers++
			}
			if prev {
				before++
				if now {
					again++
				}
			}
		}
		if orders > 0 {
			v := value / float64(orders) / scale
			out.value[k] = &v
		}
		if buyers > 0 {
			f := float64(orders) / float64(buyers)
			out.perYear[k] = &f
		}
		if before > 0 && again < before {
			life := 1 / (1 - float64(again)/float64(before))
			out.lifetime[k] = &life
		}
	}
	return out, nil
}
