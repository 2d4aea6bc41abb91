package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMetricsCommands(t *testing.T) {
	dir, db := importCSV(t, [2]string{"accounts", "account_id,name,segment\nA1,Acme,smb\nA2,Beta,enterprise\n"},
		[2]string{"subscriptions", "subscription_id,account_id,start_date,end_date,mrr,currency,plan\n" +
			"S1,A1,2024-01-01,2024-03-01,100,USD,pro\nS2,A2,2024-01-15,,49.90,USD,basic\n"})

	code, out, stderr := run(t, "metrics", "monthly", "--from", "2024-01", "--to", "2024-03", "--format", "json", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("json %q: %v", out, err)
	}
	if rows[0]["mrr"] != 149.9 || rows[0]["new_customers"] != 2.0 || rows[2]["churned_mrr"] != 100.0 || rows[2]["month"] != "2024-03" {
		t.Errorf("rows %v", rows)
	}

	code, out, _ = run(t, "metrics", "monthly", "--from", "2024-01", "--to", "2024-03", "--format", "csv", "--db", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "month,mrr,customers,new_mrr,") ||
		!strings.HasPrefix(lines[3], "2024-03,49.9,1,0,0,0,100,0,-100,") || !strings.HasSuffix(lines[1], ",,,") {
		t.Errorf("csv:\n%s", out)
	}

	code, out, _ = run(t, "metrics", "monthly", "--from", "2024-01", "--to", "2024-03", "--format", "csv", "--by", "tier", "--db", db)
	if code != 0 || !strings.Contains(out, "\nenterprise,2024-01,49.9,1,") || !strings.Contains(out, "\nsmb,2024-03,0,0,0,0,0,100,") {
		t.Errorf("by tier:\n%s", out)
	}

	code, out, _ = run(t, "metrics", "monthly", "--from", "2024-03", "--to", "2024-03", "--format", "csv", "--extended", "--db", db)
	if lines := strings.Split(out, "\n"); code != 0 || !strings.HasSuffix(lines[0], ",onboarding_completion_rate,revenue_churn_rate,arpa_growth,gross_profit_mrr,gross_profit_arpa,gross_profit_arpa_growth,retention_cost_per_customer,cost_aware_ltv,order_value,orders_per_year,order_lifetime_years,order_ltv") ||
		!strings.Contains(lines[1], ",0.66711140760507,0.66711140760507,0,49.9,199.6,") {
		t.Errorf("extended csv:\n%s", out)
	}

	code, out, _ = run(t, "metrics", "monthly", "--from", "2024-01", "--to", "2024-03", "--db", db)
	if code != 0 || !strings.Contains(out, "Amounts in USD") || !strings.Contains(out, "149.90") || !strings.Contains(out, "50.0") {
		t.Errorf("table:\n%s", out)
	}

	code, out, _ = run(t, "metrics", "monthly", "--from", "2024-01", "--to", "2024-01", "--interval", "week", "--format", "csv", "--db", db)
	if code != 0 || !strings.HasPrefix(out, "period,mrr,") || !strings.Contains(out, "\n2024-01-01,100,1,") {
		t.Errorf("weekly:\n%s", out)
	}

	code, out, _ = run(t, "metrics", "cohorts", "--from", "2024-01", "--to", "2024-03", "--format", "json", "--db", db)
	if code != 0 || !strings.Contains(out, `"cohort": "2024-01"`) || !strings.Contains(out, `"logo_retention": 0.5`) {
		t.Errorf("cohorts:\n%s", out)
	}
	code, out, _ = run(t, "metrics", "cohorts", "--from", "2024-01", "--to", "2024-03", "--db", db)
	if code != 0 || !strings.Contains(out, "Logo retention") || !strings.Contains(out, " 2024-01         2 149.90 100 100 50\n") {
		t.Errorf("cohorts table:\n%s", out)
	}

	responses := writeFile(t, dir, "responses.csv", "response_id,account_id,survey,kind,score,answered_at\nR1,A1,q,nps,10,2024-01-05\nR2,A2,q,nps,5,2024-01-06\nR3,A2,q,csat,4,2024-02-06\n")
	if code, _, stderr := run(t, "import", "responses", responses, "--db", db); code != 0 {
		t.Fatalf("import responses: %s", stderr)
	}
	code, out, _ = run(t, "metrics", "surveys", "--from", "2024-01", "--to", "2024-02", "--by", "tier", "--format", "csv", "--db", db)
	if code != 0 || !strings.Contains(out, "\nenterprise,2024-01,-100,1,0,0,1,,0,,0\n") || !strings.Contains(out, "\nsmb,2024-01,100,1,1,0,0,,0,,0\n") ||
		!strings.Contains(out, "\nenterprise,2024-02,,0,0,0,0,1,1,,0\n") {
		t.Errorf("surveys:\n%s", out)
	}
	code, out, _ = run(t, "metrics", "renewals", "--at", "2024-02-01", "--days", "30", "--db", db)
	if code != 0 || !strings.Contains(out, "1 renewals in the 30 days from 2024-02-01: ARR 1200.00 USD") || !strings.Contains(out, "2024-03-01") {
		t.Errorf("renewals:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"metrics", "monthly", "--from", "2024-1", "--to", "2024-03"}, 2, `--from: "2024-1" is not a month (YYYY-MM)`},
		{[]string{"metrics", "monthly", "--from", "2024-04", "--to", "2024-03"}, 2, "to 2024-03 is before from 2024-04"},
		{[]string{"metrics", "monthly", "--from", "2024-01", "--to", "2024-03", "--as-of", "soon"}, 2, `--as-of: "soon" is neither a date`},
		{[]string{"metrics", "monthly", "--from", "2024-01", "--to", "2024-03", "--by", "colour"}, 2, `cannot break down by "colour"`},
		{[]string{"metrics", "monthly", "--to", "2024-03"}, 2, "missing flags: --from"},
		{[]string{"metrics", "renewals", "--days", "0"}, 2, "days 0: want 1 to 3660"},
		{[]string{"metrics", "surveys", "--from", "2024-01", "--to", "2024-03", "--by", "plan"}, 2, "survey answers belong to accounts"},
	} {
		code, _, stderr := run(t, append(c.args, "--db", db)...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}
