package metrics_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
func ptr[T any](v T) *T                        { return &v }

// sub is a subscription period in a test: MRR in major units.
type sub struct {
	account, id string
	start, end  time.Time // end zero: open
	mrr         float64
	currency    string // default USD
	plan        string
	product     string
}

func seed(t *testing.T, db *store.DB, subs []sub) {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	for _, s := range subs {
		if !seen[s.account] {
			seen[s.account] = true
			if err := account.Upsert(ctx, db, account.Account{ID: s.account, Name: s.account}); err != nil {
				t.Fatal(err)
			}
		}
		cur := s.currency
		if cur == "" {
			cur = "USD"
		}
		scale := 100.0
		if cur == "JPY" {
			scale = 1
		}
		p := billing.Period{SubscriptionID: s.id, AccountID: s.account, Start: s.start, MRRMinor: int64(math.Round(s.mrr * scale)),
			Currency: cur, Plan: s.plan, Product: s.product}
		if !s.end.IsZero() {
			p.End = ptr(s.end)
		}
		if err := billing.UpsertPeriod(ctx, db, p); err != nil {
			t.Fatal(err)
		}
	}
}

func table(t *testing.T, db *store.DB, from, to string, opts metrics.Options) map[string]metrics.Row {
	t.Helper()
	var err error
	if opts.From, err = metrics.ParseMonth(from); err != nil {
		t.Fatal(err)
	}
	if opts.To, err = metrics.ParseMonth(to); err != nil {
		t.Fatal(err)
	}
	tab, err := metrics.Compute(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]metrics.Row{}
	for _, r := range tab.Rows {
		g := ""
		if r.Group != nil {
			g = *r.Group
		}
		out[r.Month+r.Period+"/"+g] = r
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func checkRate(t *testing.T, what string, got *float64, want any) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Errorf("%s = %v, want null", what, *got)
		}
		return
	}
	w := want.(float64)
	if got == nil || !near(*got, w) {
		if got == nil {
			t.Errorf("%s = null, want %v", what, w)
		} else {
			t.Errorf("%s = %v, want %v", what, *got, w)
		}
	}
}

// TestChartMogulExample is the example ChartMogul publishes for gross and net
// MRR churn: 100 of MRR at the start of the month; 10 churned, 10 lost to
// contraction, 10 won by expansion: gross MRR churn 20%, net 10%.
func TestChartMogulExample(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		jan, feb := day(2024, 1, 1), day(2024, 2, 1)
		seed(t, db, []sub{
			{account: "a", id: "a1", start: jan, end: feb, mrr: 10},                      // churns in February
			{account: "b", id: "b1", start: jan, end: day(2024, 2, 10), mrr: 20},         // contracts
			{account: "b", id: "b2", start: day(2024, 2, 10), mrr: 10},                   //   to 10
			{account: "c", id: "c1", start: jan, end: day(2024, 2, 20), mrr: 30},         // expands
			{account: "c", id: "c2", start: day(2024, 2, 20), mrr: 40},                   //   to 40
			{account: "d", id: "d1", start: day(2023, 12, 15), mrr: 40, product: "core"}, // unchanged
		})
		rows := table(t, db, "2024-02", "2024-02", metrics.Options{})
		r := rows["2024-02/"]
		if r.MRR != 90 || r.Customers != 3 || r.ChurnedMRR != 10 || r.ContractionMRR != 10 || r.ExpansionMRR != 10 || r.NetNewMRR != -10 {
			t.Errorf("February = %+v", r)
		}
		checkRate(t, "gross_mrr_churn_rate", r.GrossMRRChurnRate, 0.20)
		checkRate(t, "net_mrr_churn_rate", r.NetMRRChurnRate, 0.10)
		checkRate(t, "logo_churn_rate", r.LogoChurnRate, 0.25)
		checkRate(t, "quick_ratio", r.QuickRatio, 0.5)
		checkRate(t, "upsell_rate", r.UpsellRate, 0.25)
		checkRate(t, "arpa", r.ARPA, 30.0)
	})
}

// TestMovements checks each movement on hand-computed cases, month by month.
func TestMovements(t *testing.T) {
	type want struct {
		mrr                                                     float64
		customers                                               int
		newMRR, expansion, contraction, churned, reactivation   float64
		newN, expansionN, contractionN, churnedN, reactivationN int
	}
	cases := []struct {
		name string
		subs []sub
		fx   map[time.Time]float64 // JPY → USD from that day
		want map[string]want       // by month
	}{{
		name: "new then a mid-month price change",
		subs: []sub{
			{account: "a", id: "s", start: day(2024, 1, 10), end: day(2024, 3, 15), mrr: 100},
			{account: "a", id: "s", start: day(2024, 3, 15), mrr: 150},
		},
		want: map[string]want{
			"2023-12": {},
			"2024-01": {mrr: 100, customers: 1, newMRR: 100, newN: 1},
			"2024-02": {mrr: 100, customers: 1},
			"2024-03": {mrr: 150, customers: 1, expansion: 50, expansionN: 1},
			"2024-04": {mrr: 150, customers: 1},
		},
	}, {
		name: "one of two subscriptions cancelled is a contraction; a period ending on the 1st counts in the month before",
		subs: []sub{
			{account: "a", id: "s1", start: day(2024, 1, 1), mrr: 50},
			{account: "a", id: "s2", start: day(2024, 1, 1), end: day(2024, 3, 1), mrr: 30},
		},
		want: map[string]want{
			"2024-01": {mrr: 80, customers: 1, newMRR: 80, newN: 1},
			"2024-02": {mrr: 80, customers: 1},
			"2024-03": {mrr: 50, customers: 1, contraction: 30, contractionN: 1},
		},
	}, {
		name: "churn then reactivation",
		subs: []sub{
			{account: "a", id: "s1", start: day(2024, 1, 5), end: day(2024, 3, 1), mrr: 20},
			{account: "a", id: "s2", start: day(2024, 5, 10), mrr: 25},
		},
		want: map[string]want{
			"2024-02": {mrr: 20, customers: 1},
			"2024-03": {churned: 20, churnedN: 1},
			"2024-04": {},
			"2024-05": {mrr: 25, customers: 1, reactivation: 25, reactivationN: 1},
			"2024-06": {mrr: 25, customers: 1},
		},
	}, {
		name: "joining and leaving inside one month is not counted; a later start is new",
		subs: []sub{
			{account: "a", id: "s1", start: day(2024, 2, 3), end: day(2024, 2, 20), mrr: 99},
			{account: "a", id: "s2", start: day(2024, 4, 1), mrr: 10},
		},
		want: map[string]want{
			"2024-02": {},
			"2024-03": {},
			"2024-04": {mrr: 10, customers: 1, newMRR: 10, newN: 1},
		},
	}, {
		name: "two currencies at the rate of each month's end",
		subs: []sub{
			{account: "us", id: "u", start: day(2024, 1, 1), mrr: 49.9},
			{account: "jp", id: "j", start: day(2024, 1, 1), mrr: 10000, currency: "JPY"},
		},
		fx: map[time.Time]float64{day(2023, 1, 1): 0.007, day(2024, 3, 1): 0.0065, day(2024, 4, 30): 0.0072},
		want: map[string]want{
			"2024-01": {mrr: 119.9, customers: 2, newMRR: 119.9, newN: 2},
			"2024-02": {mrr: 119.9, customers: 2},
			"2024-03": {mrr: 114.9, customers: 2, contraction: 5, contractionN: 1},
			// The rate of April 30 is in force at April's last instant.
			"2024-04": {mrr: 121.9, customers: 2, expansion: 7, expansionN: 1},
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				for d, r := range c.fx {
					if err := billing.SetFXRate(context.Background(), db, "JPY", d, r); err != nil {
						t.Fatal(err)
					}
				}
				seed(t, db, c.subs)
				rows := table(t, db, "2023-12", "2024-06", metrics.Options{})
				for m, w := range c.want {
					r, ok := rows[m+"/"]
					if !ok {
						t.Fatalf("no row for %s", m)
					}
					got := want{r.MRR, r.Customers, r.NewMRR, r.ExpansionMRR, r.ContractionMRR, r.ChurnedMRR, r.ReactivationMRR,
						r.NewCustomers, r.ExpansionCustomers, r.ContractionCustomers, r.ChurnedCustomers, r.ReactivatedCustomers}
					if !nearWant(got.mrr, w.mrr) || !nearWant(got.newMRR, w.newMRR) || !nearWant(got.expansion, w.expansion) ||
						!nearWant(got.contraction, w.contraction) || !nearWant(got.churned, w.churned) ||
						!nearWant(got.reactivation, w.reactivation) ||
						got.customers != w.customers || got.newN != w.newN || got.expansionN != w.expansionN ||
						got.contractionN != w.contractionN || got.churnedN != w.churnedN || got.reactivationN != w.reactivationN {
						t.Errorf("%s:\n got %+v\nwant %+v", m, got, w)
					}
				}
			})
		})
	}
}

func nearWant(got, want float64) bool { return math.Abs(got-want) < 1e-6 }

// TestRates checks the rates built on several months: NRR and GRR over 12
// months, LTV over the mean churn of 6 months, CAC from imported costs,
// cross-sell, and nulls where a denominator is 0.
func TestRates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Ten accounts of 100 from January 2023. In 2024: one churns in
		// January, one expands to 150 in February, one contracts to 60 in
		// March, one adds product "addon" (cross-sell) for 20 in March.
		var subs []sub
		for i := range 10 {
			a := fmt.Sprintf("a%d", i)
			s := sub{account: a, id: a, start: day(2023, 1, 1), mrr: 100, product: "core"}
			switch i {
			case 0:
				s.end = day(2024, 1, 1) // counted in December, churned in January
			case 1:
				s.end = day(2024, 2, 1)
				subs = append(subs, sub{account: a, id: a, start: day(2024, 2, 1), mrr: 150, product: "core"})
			case 2:
				s.end = day(2024, 3, 1)
				subs = append(subs, sub{account: a, id: a, start: day(2024, 3, 1), mrr: 60, product: "core"})
			case 3:
				subs = append(subs, sub{account: a, id: a + "x", start: day(2024, 3, 1), mrr: 20, product: "addon"})
			}
			subs = append(subs, s)
		}
		seed(t, db, subs)
		if _, err := db.ExecContext(ctx, `INSERT INTO costs (month, kind, currency, amount_minor, recorded_at, updated_at)
			VALUES ('2023-01', 'acquisition', 'USD', 500000, 1, 1), ('2024-03', 'acquisition', 'USD', 100000, 1, 1),
			('2024-03', 'retention', 'USD', 99999, 1, 1)`); err != nil {
			t.Fatal(err)
		}
		rows := table(t, db, "2023-01", "2024-03", metrics.Options{})
		jan23 := rows["2023-01/"]
		if jan23.NewCustomers != 10 || jan23.MRR != 1000 {
			t.Fatalf("2023-01 = %+v", jan23)
		}
		checkRate(t, "2023-01 cac", jan23.CAC, 500.0)
		checkRate(t, "2023-01 logo_churn_rate", jan23.LogoChurnRate, nil) // no customers before
		checkRate(t, "2023-01 ltv", jan23.LTV, nil)
		checkRate(t, "2023-01 nrr_12m", jan23.NRR12m, nil)
		checkRate(t, "2023-02 cac (no costs imported)", rows["2023-02/"].CAC, nil)
		checkRate(t, "2023-02 quick_ratio", rows["2023-02/"].QuickRatio, nil)

		jan := rows["2024-01/"]
		checkRate(t, "2024-01 logo_churn_rate", jan.LogoChurnRate, 0.1)
		// Base: the 10 accounts of January 2023 (1000); now 900.
		checkRate(t, "2024-01 nrr_12m", jan.NRR12m, 0.9)
		checkRate(t, "2024-01 grr_12m", jan.GRR12m, 0.9)
		// Mean logo churn over August 2023 – January 2024: (0·5 + 0.1)/6.
		checkRate(t, "2024-01 ltv", jan.LTV, 100/(0.1/6))

		feb := rows["2024-02/"]
		checkRate(t, "2024-02 nrr_12m", feb.NRR12m, 950.0/1000)
		checkRate(t, "2024-02 grr_12m", feb.GRR12m, 900.0/1000)
		checkRate(t, "2024-02 upsell_rate", feb.UpsellRate, 1.0/9)

		mar := rows["2024-03/"]
		if mar.MRR != 930 || mar.ContractionMRR != 40 || mar.ExpansionMRR != 20 || mar.Customers != 9 {
			t.Errorf("2024-03 = %+v", mar)
		}
		checkRate(t, "2024-03 cross_sell_rate", mar.CrossSellRate, 1.0/9)
		checkRate(t, "2024-03 nrr_12m", mar.NRR12m, 930.0/1000)
		checkRate(t, "2024-03 grr_12m", mar.GRR12m, 860.0/1000)
		// Acquisition costs but no new customer: no CAC.
		checkRate(t, "2024-03 cac", mar.CAC, nil)
		checkRate(t, "2024-03 onboarding_completion_rate", mar.OnboardingCompletionRate, nil)

		// A gross margin of 80% scales LTV.
		if _, err := db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('gross_margin', '0.8')`); err != nil {
			t.Fatal(err)
		}
		rows = table(t, db, "2024-01", "2024-01", metrics.Options{})
		checkRate(t, "2024-01 ltv at 80% margin", rows["2024-01/"].LTV, 0.8*100/(0.1/6))
	})
}

// TestIdentities checks, on random data in two currencies, that every month
// mrr(m) − mrr(m−1) = net_new_mrr and customers(m) = customers(m−1) + new +
// reactivated − churned, that breakdowns by a period column add up to the
// total MRR, and that the as-of table of now equals the current one.
func TestIdentities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := billing.SetFXRate(ctx, db, "JPY", day(2020, 1, 1), 0.0068); err != nil {
			t.Fatal(err)
		}
		if err := billing.SetFXRate(ctx, db, "JPY", day(2023, 6, 1), 0.0071); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		var subs []sub
		plans := []string{"starter", "growth", "enterprise"}
		for i := range 60 {
			a := fmt.Sprintf("acct%02d", i)
			start := day(2022, 1, 1).AddDate(0, 0, rng.IntN(900))
			for j := range 1 + rng.IntN(4) {
				length := 10 + rng.IntN(300)
				s := sub{account: a, id: fmt.Sprintf("%s-%d", a, j), start: start, mrr: float64(10 + rng.IntN(500)),
					plan: plans[rng.IntN(3)], product: []string{"core", "addon"}[rng.IntN(2)]}
				if rng.IntN(5) == 0 {
					s.currency, s.mrr = "JPY", s.mrr*150
				}
				if rng.IntN(4) > 0 {
					s.end = start.AddDate(0, 0, length)
				}
				subs = append(subs, s)
				start = start.AddDate(0, 0, length+rng.IntN(60)-20)
				if s.end.IsZero() {
					break
				}
			}
		}
		seed(t, db, subs)
		from, _ := metrics.ParseMonth("2022-01")
		to, _ := metrics.ParseMonth("2025-12")
		tab, err := metrics.Compute(ctx, db, metrics.Options{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		var churned, moved int
		for i := 1; i < len(tab.Rows); i++ {
			r, p := tab.Rows[i], tab.Rows[i-1]
			if !near(r.MRR-p.MRR, r.NetNewMRR) && math.Abs(r.MRR-p.MRR-r.NetNewMRR) > 1e-6 {
				t.Errorf("%s: mrr − previous = %v, net_new_mrr = %v", r.Month, r.MRR-p.MRR, r.NetNewMRR)
			}
			if r.Customers != p.Customers+r.NewCustomers+r.ReactivatedCustomers-r.ChurnedCustomers {
				t.Errorf("%s: customers %d ≠ %d + %d + %d − %d", r.Month, r.Customers, p.Customers, r.NewCustomers, r.ReactivatedCustomers, r.ChurnedCustomers)
			}
			churned += r.ChurnedCustomers
			moved += r.ExpansionCustomers + r.ContractionCustomers + r.ReactivatedCustomers
		}
		if churned == 0 || moved == 0 {
			t.Fatalf("random data has %d churns and %d other movements: the test proves nothing", churned, moved)
		}

		now := time.Now()
		asOf, err := metrics.Compute(ctx, db, metrics.Options{From: from, To: to, AsOf: &now})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tab.Rows {
			if a, b := asOf.Rows[i], tab.Rows[i]; !near(a.MRR, b.MRR) || a.Customers != b.Customers || a.ChurnedCustomers != b.ChurnedCustomers {
				t.Errorf("%s: as of now %v/%d, current %v/%d", b.Month, a.MRR, a.Customers, b.MRR, b.Customers)
			}
		}

		// Inside a transaction the periods are read by one reader; on the
		// database, SQLite splits the read in parts (an account may be in
		// two) and PostgreSQL reads raw rows. All must agree.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		inTx, err := metrics.Compute(ctx, tx, metrics.Options{From: from, To: to})
		tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(inTx.Rows, tab.Rows) {
			t.Errorf("in a transaction the table differs:\n%+v\n%+v", inTx.Rows, tab.Rows)
		}

		for _, by := range []string{"plan", "product", "currency"} {
			bd, err := metrics.Compute(ctx, db, metrics.Options{From: from, To: to, By: by})
			if err != nil {
				t.Fatal(err)
			}
			sum := map[string]float64{}
			groups := map[string]bool{}
			for _, r := range bd.Rows {
				sum[r.Month] += r.MRR
				groups[*r.Group] = true
			}
			if len(groups) < 2 {
				t.Errorf("by %s: groups %v", by, groups)
			}
			for _, r := range tab.Rows {
				if math.Abs(sum[r.Month]-r.MRR) > 1e-6 {
					t.Errorf("by %s, %s: groups add up to %v, total %v", by, r.Month, sum[r.Month], r.MRR)
				}
			}
		}
	})
}

// TestAsOf checks that a table computed as of a past moment sees the data as
// Kizuna knew it then: periods entered later are absent, a correction
// shows the old value before it and the new one after, a deletion is seen
// only after it.
func TestAsOf(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db, []sub{{account: "a", id: "x", start: day(2024, 9, 1), mrr: 1}, {account: "b", id: "x2", start: day(2024, 9, 1), mrr: 1}})
		if _, err := db.ExecContext(ctx, `DELETE FROM subscription_periods`); err != nil {
			t.Fatal(err)
		}
		// Written at controlled times (unix seconds 1000, 2000, 3000): a
		// period entered at 1000, corrected at 2000; another entered at 3000.
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		jan, feb := day(2024, 1, 1).Unix(), day(2024, 2, 1).Unix()
		exec(`INSERT INTO subscription_periods (subscription_id, start_at, end_at, account_id, mrr_minor, currency, recorded_at, updated_at)
			VALUES ('s1', $1, NULL, 'a', 10000, 'USD', 1000, 1000)`, jan)
		exec(`UPDATE subscription_periods SET mrr_minor = 12000, updated_at = 2000 WHERE subscription_id = 's1'`)
		// Touching updated_at without a change is no new version.
		exec(`UPDATE subscription_periods SET updated_at = 2500 WHERE subscription_id = 's1'`)
		exec(`INSERT INTO subscription_periods (subscription_id, start_at, end_at, account_id, mrr_minor, currency, recorded_at, updated_at)
			VALUES ('s2', $1, NULL, 'b', 5000, 'USD', 3000, 3000)`, feb)

		at := func(sec int64) map[string]metrics.Row {
			t.Helper()
			when := time.Unix(sec, 0)
			return table(t, db, "2024-01", "2024-02", metrics.Options{AsOf: &when})
		}
		for _, c := range []struct {
			asOf     int64
			jan, feb float64
		}{{999, 0, 0}, {1000, 100, 100}, {1999, 100, 100}, {2000, 120, 120}, {2600, 120, 120}, {3000, 120, 170}} {
			rows := at(c.asOf)
			if rows["2024-01/"].MRR != c.jan || rows["2024-02/"].MRR != c.feb {
				t.Errorf("as of %d: January %v, February %v; want %v, %v", c.asOf, rows["2024-01/"].MRR, rows["2024-02/"].MRR, c.jan, c.feb)
			}
		}
		// The correction is a correction: January's new MRR was 100 as of
		// 1500 and is 120 from 2000 on; the later report does not rewrite
		// the earlier one.
		if a, b := at(1500)["2024-01/"].NewMRR, at(2000)["2024-01/"].NewMRR; a != 100 || b != 120 {
			t.Errorf("new MRR of January as of 1500 = %v, as of 2000 = %v", a, b)
		}
		before := time.Now().Unix() - 1
		exec(`DELETE FROM subscription_periods WHERE subscription_id = 's2'`)
		if got := at(before)["2024-02/"].MRR; got != 170 {
			t.Errorf("February as of just before the deletion = %v, want 170", got)
		}
		if got := table(t, db, "2024-02", "2024-02", metrics.Options{})["2024-02/"].MRR; got != 120 {
			t.Errorf("February now = %v, want 120", got)
		}
		if got := at(time.Now().Unix() + 1)["2024-02/"].MRR; got != 120 {
			t.Errorf("February as of after the deletion = %v, want 120", got)
		}
	})
}

// TestAsOfExchangeRate checks that a corrected exchange rate changes the
// table from the correction on, not before it.
func TestAsOfExchangeRate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := billing.SetFXRate(ctx, db, "JPY", day(2020, 1, 1), 0.007); err != nil {
			t.Fatal(err)
		}
		// As if the rate had been entered at unix time 1000.
		if _, err := db.ExecContext(ctx, `UPDATE fx_rate_versions SET known_from = 1000`); err != nil {
			t.Fatal(err)
		}
		seed(t, db, []sub{{account: "j", id: "j", start: day(2024, 1, 1), mrr: 10000, currency: "JPY"}})
		if err := billing.SetFXRate(ctx, db, "JPY", day(2020, 1, 1), 0.0065); err != nil {
			t.Fatal(err)
		}
		// The period itself must be known at 2000 too.
		if _, err := db.ExecContext(ctx, `UPDATE subscription_period_versions SET known_from = 1500`); err != nil {
			t.Fatal(err)
		}
		before := time.Unix(2000, 0)
		if got := table(t, db, "2024-01", "2024-01", metrics.Options{AsOf: &before})["2024-01/"].MRR; got != 70 {
			t.Errorf("as of before the correction: %v, want 70", got)
		}
		if got := table(t, db, "2024-01", "2024-01", metrics.Options{})["2024-01/"].MRR; got != 65 {
			t.Errorf("now: %v, want 65", got)
		}
	})
}

// TestFinerIntervals checks daily and weekly tables: the same rules at each
// day's or week's end.
func TestFinerIntervals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		seed(t, db, []sub{
			// Active at the ends of January 10 to 19; gone at the end of the 20th.
			{account: "a", id: "a", start: day(2024, 1, 10), end: day(2024, 1, 20), mrr: 30},
			// Starts on Wednesday January 17: new in the ISO week of Monday January 15.
			{account: "b", id: "b", start: day(2024, 1, 17), mrr: 10},
		})
		from, to := day(2024, 1, 9), day(2024, 1, 21)
		tab, err := metrics.Compute(context.Background(), db, metrics.Options{From: from, To: to, Interval: metrics.Day})
		if err != nil {
			t.Fatal(err)
		}
		byDay := map[string]metrics.Row{}
		for _, r := range tab.Rows {
			byDay[r.Period] = r
		}
		if len(tab.Rows) != 13 || tab.Rows[0].Period != "2024-01-09" || tab.Rows[0].Month != "" {
			t.Fatalf("%d rows from %q", len(tab.Rows), tab.Rows[0].Period)
		}
		if r := byDay["2024-01-10"]; r.NewMRR != 30 || r.MRR != 30 {
			t.Errorf("January 10: %+v", r)
		}
		if r := byDay["2024-01-19"]; r.MRR != 40 || r.ChurnedMRR != 0 {
			t.Errorf("January 19: %+v", r)
		}
		if r := byDay["2024-01-20"]; r.MRR != 10 || r.ChurnedMRR != 30 || r.ChurnedCustomers != 1 {
			t.Errorf("January 20: %+v", r)
		}
		checkRate(t, "January 20 net mrr churn", byDay["2024-01-20"].NetMRRChurnRate, 0.75)
		if r := byDay["2024-01-20"]; r.LTV != nil || r.CAC != nil {
			t.Errorf("daily LTV or CAC: %+v", r)
		}

		tab, err = metrics.Compute(context.Background(), db, metrics.Options{From: from, To: to, Interval: metrics.Week})
		if err != nil {
			t.Fatal(err)
		}
		var weeks []string
		for _, r := range tab.Rows {
			weeks = append(weeks, fmt.Sprintf("%s:%v/%v/%v", r.Period, r.MRR, r.NewMRR, r.ChurnedMRR))
		}
		// The week of Monday January 15 ends on Sunday the 21st, after a left.
		want := []string{"2024-01-08:30/30/0", "2024-01-15:10/10/30"}
		if !reflect.DeepEqual(weeks, want) {
			t.Errorf("weeks %v, want %v", weeks, want)
		}
	})
}

// TestOwnerBreakdown groups whole accounts by their owner.
func TestOwnerBreakdown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seed(t, db, []sub{
			{account: "a", id: "a", start: day(2024, 1, 1), mrr: 30, plan: "x"},
			{account: "a", id: "a2", start: day(2024, 1, 1), mrr: 5, plan: "y"},
			{account: "b", id: "b", start: day(2024, 1, 1), mrr: 10},
			{account: "c", id: "c", start: day(2024, 1, 1), mrr: 1},
		})
		for id, owner := range map[string]string{"a": "kei@example.com", "b": "kei@example.com", "c": ""} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id, OwnerEmail: owner}); err != nil {
				t.Fatal(err)
			}
		}
		rows := table(t, db, "2024-01", "2024-01", metrics.Options{By: "owner"})
		if len(rows) != 2 || rows["2024-01/kei@example.com"].MRR != 45 || rows["2024-01/kei@example.com"].Customers != 2 || rows["2024-01/"].MRR != 1 {
			t.Errorf("by owner: %+v", rows)
		}
	})
}
