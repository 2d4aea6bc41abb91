package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// churnWorld: 20 accounts paying since 2023-01-01; basic A01–A10 of which
// A01–A06 stop within 90 days of 2024-01-01, pro A11–A20 of which A11 and
// A12 stop.
func churnWorld(t *testing.T) string {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	var subs strings.Builder
	subs.WriteString("subscription_id,account_id,start_date,end_date,mrr,currency,plan\n")
	for i := 1; i <= 20; i++ {
		plan, end := "basic", ""
		if i > 10 {
			plan = "pro"
		}
		if i <= 6 || i == 11 || i == 12 {
			end = "2024-02-01"
		}
		fmt.Fprintf(&subs, "S%02d,A%02d,2023-01-01,%s,100,USD,%s\n", i, i, end, plan)
	}
	if code, _, stderr := run(t, "import", "subscriptions", writeFile(t, dir, "subs.csv", subs.String()), "--create-accounts", "--db", db); code != 0 {
		t.Fatal(stderr)
	}
	return db
}

func TestChurnTrainCommand(t *testing.T) {
	db := churnWorld(t)
	code, stdout, stderr := run(t, "churn", "train", "--as-of", "2024-01-01", "--exclude", "days_to_renewal", "--lambda", "0.000001",
		"--format", "json", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		AsOf        string  `json:"as_of"`
		HorizonDays int     `json:"horizon_days"`
		Accounts    int     `json:"accounts"`
		Churned     int     `json:"churned"`
		AUC         float64 `json:"auc"`
		TrainAUC    float64 `json:"train_auc"`
		Brier       float64 `json:"brier"`
		Drivers     []struct {
			Feature     string  `json:"feature"`
			Coefficient float64 `json:"coefficient"`
			OddsRatio   float64 `json:"odds_ratio"`
			CILow       float64 `json:"ci_low"`
			CIHigh      float64 `json:"ci_high"`
		} `json:"drivers"`
		TopRisk []struct {
			AccountID   string  `json:"account_id"`
			Probability float64 `json:"probability"`
		} `json:"top_risk"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	// 6/10 basic and 2/10 pro churn: log odds ratio log 6, times the 0.5
	// standard deviation of plan=basic; Woolf's interval likewise halved.
	se := 0.5 * math.Sqrt(1.0/6+1.0/4+1.0/2+1.0/8)
	if out.AsOf != "2024-01-01" || out.HorizonDays != 90 || out.Accounts != 20 || out.Churned != 8 || len(out.Drivers) != 1 {
		t.Fatalf("%+v", out)
	}
	d := out.Drivers[0]
	if d.Feature != "plan=basic" || math.Abs(d.Coefficient-0.5*math.Log(6)) > 1e-4 || math.Abs(d.OddsRatio-math.Sqrt(6)) > 1e-3 ||
		math.Abs(d.CILow-(0.5*math.Log(6)-1.96*se)) > 1e-3 || math.Abs(d.CIHigh-(0.5*math.Log(6)+1.96*se)) > 1e-3 {
		t.Errorf("driver %+v", d)
	}
	if math.Abs(out.TrainAUC-68.0/96) > 1e-9 || out.Brier <= 0 || out.Brier >= 0.5 {
		t.Errorf("train AUC %v, Brier %v", out.TrainAUC, out.Brier)
	}
	// Paying today: A07–A10 (basic, p 0.6) and A13–A20 (pro, 0.2).
	if len(out.TopRisk) != 10 || out.TopRisk[0].AccountID != "A07" || math.Abs(out.TopRisk[0].Probability-0.6) > 1e-3 || math.Abs(out.TopRisk[9].Probability-0.2) > 1e-3 {
		t.Errorf("top risk %+v", out.TopRisk)
	}
	code, stdout, _ = run(t, "churn", "train", "--as-of", "2024-01-01", "--top", "0", "--store", "--db", db)
	if code != 0 || !strings.Contains(stdout, "20 accounts, 8 churned") || !strings.Contains(stdout, "plan=basic") ||
		!strings.Contains(stdout, "stored the churn scores of 12 paying accounts") {
		t.Errorf("text: %d %s", code, stdout)
	}
	sdb, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	scores, err := churn.Scores(context.Background(), sdb)
	if err != nil || len(scores) != 12 || scores[0].AccountID != "A07" {
		t.Errorf("scores %v %+v", err, scores)
	}
	entries, err := audit.List(context.Background(), sdb, audit.Filter{ObjectType: "churn_scores"})
	if err != nil || len(entries) != 1 || entries[0].ObjectID != "2024-01-01" || !strings.Contains(string(entries[0].After), `"accounts":12`) {
		t.Errorf("audit %v %+v", err, entries)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--as-of", "2024-13-01"}, 2, `--as-of "2024-13-01": want YYYY-MM-DD`},
		{[]string{"--horizon", "0"}, 2, "--horizon and --windows must be ≥ 1"},
		{[]string{"--as-of", "2020-01-01"}, 1, "0 paying accounts of which 0 churned"},
	} {
		code, stdout, stderr := run(t, append(append([]string{"churn", "train"}, c.args...), "--db", db)...)
		if code != c.code || !strings.Contains(stdout+stderr, c.msg) {
			t.Errorf("%v: exit %d %q, want %d %q", c.args, code, stdout+stderr, c.code, c.msg)
		}
	}
}

func TestChurnSurvivalCommand(t *testing.T) {
	db := churnWorld(t)
	code, stdout, stderr := run(t, "churn", "survival", "--by", "plan", "--unit", "month", "--at", "2024-06-01", "--format", "json", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Curves []struct {
			Group  string   `json:"group"`
			N      int      `json:"n"`
			Events int      `json:"events"`
			Median *float64 `json:"median"`
			Points []struct {
				Time     float64 `json:"time"`
				Survival float64 `json:"survival"`
			} `json:"points"`
		} `json:"curves"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	// basic: 6 of 10 stop after 13 months: S = 0.4, median 13; pro: 2 of 10, S = 0.8.
	if len(out.Curves) != 2 || out.Curves[0].Group != "basic" || out.Curves[0].Events != 6 || out.Curves[0].Median == nil ||
		*out.Curves[0].Median != 13 || math.Abs(out.Curves[0].Points[0].Survival-0.4) > 1e-12 ||
		out.Curves[1].Median != nil || math.Abs(out.Curves[1].Points[0].Survival-0.8) > 1e-12 {
		t.Errorf("%s", stdout)
	}
	code, stdout, _ = run(t, "churn", "survival", "--at", "2024-06-01", "--db", db)
	if code != 0 || !strings.Contains(stdout, "(all)") || !strings.Contains(stdout, "not reached") {
		t.Errorf("text: %d %s", code, stdout)
	}
	code, _, stderr = run(t, "churn", "survival", "--by", "colour", "--db", db)
	if code != 1 || !strings.Contains(stderr, `group by "colour": want plan, cohort or attr:NAME`) {
		t.Errorf("bad --by: %d %s", code, stderr)
	}
}

// TestChurnRetrainSetting: churn.retrain_days is set through kizuna
// settings, checked, and read back by churn.RetrainDays.
func TestChurnRetrainSetting(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	if code, _, stderr := run(t, "--db", db, "settings", "set", "churn.retrain_days", "weekly"); code == 0 || !strings.Contains(stderr, "churn.retrain_days") || !strings.Contains(stderr, "0 (off) to 3650") {
		t.Errorf("weekly: exit %d, %s", code, stderr)
	}
	if code, stdout, stderr := run(t, "--db", db, "settings", "set", "churn.retrain_days", "14"); code != 0 || stdout != "churn.retrain_days = 14\n" {
		t.Fatalf("14: exit %d, %s %s", code, stdout, stderr)
	}
	s, err := store.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := churn.RetrainDays(context.Background(), s); err != nil || n != 14 {
		t.Errorf("RetrainDays = %d, %v; want 14", n, err)
	}
	if code, _, stderr := run(t, "--db", db, "settings", "unset", "churn.retrain_days"); code != 0 {
		t.Fatalf("unset: exit %d, %s", code, stderr)
	}
	if n, err := churn.RetrainDays(context.Background(), s); err != nil || n != churn.DefaultRetrainDays {
		t.Errorf("RetrainDays after unset = %d, %v; want %d", n, err, churn.DefaultRetrainDays)
	}
}
