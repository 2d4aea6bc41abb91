package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestExtended checks the figures beyond the contract's table on a
// hand-computed case: gross margins by product, plan and default; revenue
// churn (cancellations only); ARPA growth on revenue and on profit; the
// cost-aware LTV; the order-based LTV.
func TestExtended(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		y23 := day(2023, 1, 1)
		seed(t, db, []sub{
			{account: "a", id: "a", start: y23, mrr: 100, plan: "pro", product: "core"},
			{account: "b", id: "b", start: y23, end: day(2024, 2, 1), mrr: 50, plan: "basic", product: "core"},
			{account: "c", id: "c", start: y23, end: day(2024, 3, 1), mrr: 40, plan: "pro", product: "addon"},
			{account: "c", id: "c", start: day(2024, 3, 1), mrr: 20, plan: "pro", product: "addon"},
		})
		exec := func(q string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		exec(`INSERT INTO settings (key, value) VALUES ('gross_margin', '0.5'), ('gross_margin.product.addon', '0.9'), ('gross_margin.plan.pro', '0.8')`)
		exec(`INSERT INTO costs (month, kind, currency, amount_minor, recorded_at, updated_at) VALUES
			('2024-02', 'retention', 'USD', 10000, 1, 1), ('2024-02', 'acquisition', 'USD', 3000, 1, 1)`)
		for _, id := range []string{"x", "y", "z"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		for i, o := range []struct {
			account string
			at      time.Time
			amount  int64
		}{{"x", day(2022, 6, 3), 1000}, {"x", day(2023, 5, 3), 2000}, {"x", day(2023, 11, 3), 3000},
			{"y", day(2022, 8, 3), 4000}, {"z", day(2024, 1, 3), 5000}, {"z", day(2024, 2, 3), 6000}} {
			if _, err := db.ExecContext(ctx, `INSERT INTO orders (order_id, account_id, ordered_at, amount_minor, currency, recorded_at, updated_at)
				VALUES ($1, $2, $3, $4, 'USD', 1, 1)`, fmt.Sprint(i), o.account, o.at.Unix(), o.amount); err != nil {
				t.Fatal(err)
			}
		}

		rows := table(t, db, "2024-01", "2024-03", metrics.Options{Extended: true})
		jan, feb, mar := rows["2024-01/"], rows["2024-02/"], rows["2024-03/"]
		if jan.Extended == nil || feb.Extended == nil || mar.Extended == nil {
			t.Fatal("no extended figures")
		}
		// January: 100·0.8 (plan pro) + 50·0.5 (default) + 40·0.9 (product addon).
		if !nearWant(jan.GrossProfitMRR, 141) || !nearWant(feb.GrossProfitMRR, 116) || !nearWant(mar.GrossProfitMRR, 98) {
			t.Errorf("gross profit MRR %v, %v, %v", jan.GrossProfitMRR, feb.GrossProfitMRR, mar.GrossProfitMRR)
		}
		checkRate(t, "jan gross_profit_arpa", jan.GrossProfitARPA, 47.0)
		checkRate(t, "feb revenue_churn_rate", feb.RevenueChurnRate, 50.0/190)
		checkRate(t, "mar revenue_churn_rate (contraction only)", mar.RevenueChurnRate, 0.0)
		checkRate(t, "mar gross_mrr_churn_rate", mar.GrossMRRChurnRate, 20.0/140)
		checkRate(t, "feb arpa_growth", feb.ARPAGrowth, 70/(190.0/3)-1)
		checkRate(t, "feb gross_profit_arpa_growth", feb.GrossProfitARPAGrowth, 58.0/47-1)
		checkRate(t, "feb retention_cost_per_customer", feb.RetentionCostPerCustomer, 50.0)
		checkRate(t, "jan retention_cost_per_customer", jan.RetentionCostPerCustomer, nil)
		// Mean logo churn over September–February: (1/3)/6, a lifetime of 18 months.
		checkRate(t, "feb ltv", feb.LTV, 70*0.5*18.0)
		checkRate(t, "feb cost_aware_ltv", feb.CostAwareLTV, (58-50)*18.0)
		// Orders of the 12 months to March 2024: x 20 and 30, z 50 and 60;
		// of the previous 12 months' buyers (x, y) one bought again.
		checkRate(t, "mar order_value", mar.OrderValue, 40.0)
		checkRate(t, "mar orders_per_year", mar.OrdersPerYear, 2.0)
		checkRate(t, "mar order_lifetime_years", mar.OrderLifetimeYears, 2.0)
		checkRate(t, "mar order_ltv", mar.OrderLTV, 160.0)

		// Without Extended the rows carry none of it.
		if r := table(t, db, "2024-01", "2024-01", metrics.Options{})["2024-01/"]; r.Extended != nil {
			t.Errorf("extended figures without asking: %+v", r.Extended)
		}
		// Broken down, gross profit is per group; costs and orders are not.
		byPlan := table(t, db, "2024-01", "2024-01", metrics.Options{Extended: true, By: "plan"})
		if pro := byPlan["2024-01/pro"]; !nearWant(pro.GrossProfitMRR, 116) || pro.RetentionCostPerCustomer != nil || pro.OrderLTV != nil {
			t.Errorf("pro: %+v", pro.Extended)
		}
	})
}
