package churn

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func importCSV(t testing.TB, db *store.DB, kind, content string) {
	t.Helper()
	res, err := csvimport.Import(context.Background(), db, kind, kind+".csv", strings.NewReader(content), csvimport.Options{CreateAccounts: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("import %s: %+v", kind, res.Errors[:min(3, len(res.Errors))])
	}
}

// smallWorld: 20 accounts paying since 2023-01-01. Basic (A01–A10): A01–A03
// stop on 2024-02-01, A04–A06 on 2024-03-01; pro (A11–A20): A11, A12 stop
// on 2024-02-01; the rest still pay.
func smallWorld(t testing.TB, db *store.DB) {
	var subs strings.Builder
	subs.WriteString("subscription_id,account_id,start_date,end_date,mrr,currency,plan\n")
	for i := 1; i <= 20; i++ {
		plan, end := "basic", ""
		if i > 10 {
			plan = "pro"
		}
		switch {
		case i <= 3 || i == 11 || i == 12:
			end = "2024-02-01"
		case i <= 6:
			end = "2024-03-01"
		}
		fmt.Fprintf(&subs, "S%02d,A%02d,2023-01-01,%s,100,USD,%s\n", i, i, end, plan)
	}
	importCSV(t, db, "subscriptions", subs.String())
	var accounts strings.Builder
	accounts.WriteString("account_id,name,region\n")
	for i := 1; i <= 20; i++ {
		region := "east"
		if i%2 == 0 {
			region = "west"
		}
		fmt.Fprintf(&accounts, "A%02d,Account %d,%s\n", i, i, region)
	}
	importCSV(t, db, "accounts", accounts.String())
}

func TestTrainSmall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		smallWorld(t, db)
		ctx := context.Background()
		// Churners' end dates are known in advance here, which
		// days_to_renewal would leak; region is noise.
		rep, err := Train(ctx, db, Options{AsOf: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Lambda: 1e-6,
			Exclude: []string{"days_to_renewal", "attr.*"}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Accounts != 20 || rep.Churned != 8 || rep.AsOf != "2024-01-01" || rep.HorizonDays != 90 {
			t.Fatalf("report %+v", rep)
		}
		// Only the plan varies: basic churns 6/10, pro 2/10 (the baseline).
		// Unpenalised, the coefficient is the log odds ratio log((6/4)/(2/8))
		// = log 6 times the standard deviation of the plan=basic column, 0.5.
		if len(rep.Drivers) != 1 || rep.Drivers[0].Feature != "plan=basic" || rep.Encoding.Baselines["plan"] != "pro" {
			t.Fatalf("drivers %+v, encoding %+v", rep.Drivers, rep.Encoding)
		}
		d := rep.Drivers[0]
		se := 0.5 * math.Sqrt(1.0/6+1.0/4+1.0/2+1.0/8)
		if math.Abs(d.Coefficient-0.5*math.Log(6)) > 1e-4 || math.Abs(d.StdErr-se) > 1e-4 || math.Abs(d.OddsRatio-math.Sqrt(6)) > 1e-3 {
			t.Errorf("driver %+v; want coefficient %.4f, se %.4f", d, 0.5*math.Log(6), se)
		}
		// Fitted, every basic account scores above every pro one, so the
		// AUC is the Mann–Whitney value with ties,
		// (6·8 + ½·6·4 + ½·2·8)/(8·12) = 0.7083. Out of fold it is lower:
		// holding out a churner lowers its plan's rate in the training folds,
		// so within a plan the stayers score above the churners.
		if math.Abs(rep.TrainAUC-68.0/96) > 1e-12 || rep.AUC >= rep.TrainAUC {
			t.Errorf("train AUC %.4f (want 0.7083), cross-validated %.4f (want below)", rep.TrainAUC, rep.AUC)
		}
		// Scoring now: the paying accounts are A07–A10 (basic) and A13–A20.
		risks, err := Score(ctx, db, rep.Model, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(risks) != 12 || risks[0].AccountID != "A07" || math.Abs(risks[0].Probability-0.6) > 1e-3 ||
			len(risks[0].Reasons) != 1 || risks[0].Reasons[0].Feature != "plan=basic" || math.Abs(risks[11].Probability-0.2) > 1e-3 {
			t.Errorf("risks %+v", risks)
		}
		scoredAt := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
		if n, err := StoreScores(ctx, db, risks, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), scoredAt); err != nil || n != 12 {
			t.Fatalf("store: %d %v", n, err)
		}
		// Storing again replaces: only the two first remain.
		if _, err := StoreScores(ctx, db, risks[:2], time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), scoredAt); err != nil {
			t.Fatal(err)
		}
		stored, err := Scores(ctx, db)
		if err != nil || len(stored) != 2 || stored[0].AccountID != risks[0].AccountID || stored[0].Probability != risks[0].Probability ||
			stored[0].Name != "Account 7" || len(stored[0].Reasons) != 1 || stored[0].Reasons[0].Feature != "plan=basic" || !stored[0].ScoredAt.Equal(scoredAt) {
			t.Errorf("stored %v %+v", err, stored)
		}
		if _, err := Train(ctx, db, Options{AsOf: time.Now().AddDate(0, 0, -10)}); err == nil || !strings.Contains(err.Error(), "outcome is not known yet") {
			t.Errorf("future horizon: %v", err)
		}
		if _, err := Train(ctx, db, Options{AsOf: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil || !strings.Contains(err.Error(), "0 paying accounts") {
			t.Errorf("empty population: %v", err)
		}
	})
}

func TestSurvivalSmall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		smallWorld(t, db)
		ctx := context.Background()
		at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
		curves, err := Survival(ctx, db, LifetimeOptions{At: at, By: "plan", Unit: "month"})
		if err != nil {
			t.Fatal(err)
		}
		if len(curves) != 2 || curves[0].Group != "basic" || curves[1].Group != "pro" {
			t.Fatalf("curves %+v", curves)
		}
		// basic: 3 of 10 end at 13 months (0.7), 3 of 7 at 14 (0.4): median
		// 14; 4 censored at 17. pro: 2 of 10 at 13 (0.8), median not reached.
		b, p := curves[0], curves[1]
		if b.N != 10 || b.Events != 6 || math.Abs(b.At(13)-0.7) > 1e-12 || math.Abs(b.At(14)-0.4) > 1e-12 || b.Median == nil || *b.Median != 14 {
			t.Errorf("basic %+v", b)
		}
		if p.N != 10 || p.Events != 2 || math.Abs(p.At(20)-0.8) > 1e-12 || p.Median != nil {
			t.Errorf("pro %+v", p)
		}
		// In days: 2023-01-01 → 2024-02-01 is 396 days; filters keep east
		// (odd) accounts: basic A01, A03 (stop), A05 (stop 2024-03-01, 425
		// days), A07, A09; pro A11 (stop) and four paying.
		east, err := Survival(ctx, db, LifetimeOptions{At: at, Where: []string{"attr:region=east"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(east) != 1 || east[0].N != 10 || east[0].Events != 4 || east[0].Points[0].Time != 396 || east[0].Points[1].Time != 425 {
			t.Errorf("east %+v", east)
		}
		west, err := Survival(ctx, db, LifetimeOptions{At: at, By: "attr:region", Where: []string{"attr:region!=east"}})
		if err != nil || len(west) != 1 || west[0].Group != "west" || west[0].N != 10 {
			t.Errorf("west %v %+v", err, west)
		}
		for _, bad := range []LifetimeOptions{{By: "colour"}, {Unit: "week"}, {Where: []string{"region=east"}}} {
			bad.At = at
			if _, err := Survival(ctx, db, bad); err == nil {
				t.Errorf("%+v accepted", bad)
			}
		}
	})
}

// telcoEnd is when the Telco snapshot was taken in the import recipe.
var telcoEnd = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// importTelco is the README's recipe: every customer an account with the
// table's columns as attributes, and one subscription period starting
// tenure months before the end of observation, at MonthlyCharges, ending at
// the end for churners (they left within the last month) and open for the
// others.
func importTelco(t testing.TB, db *store.DB) {
	rows := telcoRows(t)
	attrs := []string{"gender", "SeniorCitizen", "Partner", "Dependents", "PhoneService", "MultipleLines", "InternetService",
		"OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies", "Contract",
		"PaperlessBilling", "PaymentMethod", "TotalCharges"}
	var acc, subs strings.Builder
	acc.WriteString("account_id," + strings.Join(attrs, ",") + "\n")
	subs.WriteString("subscription_id,account_id,start_date,end_date,mrr,currency\n")
	for _, r := range rows {
		acc.WriteString(r["customerID"])
		for _, a := range attrs {
			acc.WriteString("," + strings.TrimSpace(r[a]))
		}
		acc.WriteString("\n")
		tenure, err := strconv.Atoi(r["tenure"])
		if err != nil {
			t.Fatal(err)
		}
		end := ""
		if r["Churn"] == "Yes" {
			end = telcoEnd.Format(time.DateOnly)
		}
		fmt.Fprintf(&subs, "%s,%s,%s,%s,%s,USD\n", r["customerID"], r["customerID"], telcoEnd.AddDate(0, -tenure, 0).Format(time.DateOnly), end, r["MonthlyCharges"])
	}
	importCSV(t, db, "accounts", acc.String())
	importCSV(t, db, "subscriptions", subs.String())
}

// TestTelcoImported runs the README recipe end to end through the importer
// and the snapshot: the AUC band, the published drivers and the published
// survival median.
func TestTelcoImported(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		importTelco(t, db)
		ctx := context.Background()
		curves, err := Survival(ctx, db, LifetimeOptions{At: telcoEnd, Unit: "month",
			Where: []string{"attr:Contract=Month-to-month", "attr:InternetService!=No"}})
		if err != nil {
			t.Fatal(err)
		}
		if c := curves[0]; c.N != 3351 || c.Events != 1556 || c.Median == nil || *c.Median != 34 {
			t.Errorf("month-to-month with internet: n %d events %d median %v; want 3351, 1556, 34", c.N, c.Events, c.Median)
		}
		// Features a month before the end; churn within the 31 days to it.
		// The recipe's end dates are set at import, so days_to_renewal would
		// leak the label.
		rep, err := Train(ctx, db, Options{AsOf: telcoEnd.AddDate(0, -1, 0), HorizonDays: 31, Exclude: []string{"days_to_renewal"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("accounts %d churned %d AUC %.4f Brier %.4f; top drivers %s %s %s %s %s", rep.Accounts, rep.Churned, rep.AUC, rep.Brier,
			rep.Drivers[0].Feature, rep.Drivers[1].Feature, rep.Drivers[2].Feature, rep.Drivers[3].Feature, rep.Drivers[4].Feature)
		// The 11 customers of tenure 0 start at the end: not paying a month before.
		if rep.Accounts != 7032 || rep.Churned != 1869 {
			t.Errorf("accounts %d churned %d, want 7032 1869", rep.Accounts, rep.Churned)
		}
		if rep.AUC < 0.83 || rep.AUC > 0.86 {
			t.Errorf("AUC %.4f outside 0.83–0.86", rep.AUC)
		}
		rank := map[string]int{}
		for i, d := range rep.Drivers {
			rank[d.Feature] = i
		}
		// Without signup_at, signup_days is tenure_days: the encoder keeps
		// one of the two (signup_days, first by name) and lists the other
		// as collinear.
		if r, ok := rank["signup_days"]; ok && !contains(rep.Drivers, "tenure_days") {
			rank["tenure_days"] = r
		}
		for _, f := range []string{"attr.Contract=Month-to-month", "tenure_days", "attr.InternetService=Fiber optic"} {
			if r, ok := rank[f]; !ok || r >= 6 {
				t.Errorf("%s ranks %d, want top 6 (drivers %+v)", f, r+1, rep.Drivers[:6])
			}
		}
	})
}

func contains(ds []Driver, feature string) bool {
	for _, d := range ds {
		if d.Feature == feature {
			return true
		}
	}
	return false
}
