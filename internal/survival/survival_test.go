package survival

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The 6-MP arm of Freireich et al. (1963), the textbook example (Kleinbaum &
// Klein, Survival Analysis, ch. 2): remission weeks, + = censored.
var sixMP = []Observation{
	{6, true, ""}, {6, true, ""}, {6, true, ""}, {6, false, ""}, {7, true, ""}, {9, false, ""},
	{10, true, ""}, {10, false, ""}, {11, false, ""}, {13, true, ""}, {16, true, ""}, {17, false, ""},
	{19, false, ""}, {20, false, ""}, {22, true, ""}, {23, true, ""}, {25, false, ""}, {32, false, ""},
	{32, false, ""}, {34, false, ""}, {35, false, ""},
}

func TestKaplanMeierTextbook(t *testing.T) {
	c, err := KaplanMeier(sixMP)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: S = Π(1 − d/n); Greenwood se = S·sqrt(Σ d/(n(n−d))); the
	// log-log band as printed by R's survfit(conf.type = "log-log").
	want := []struct {
		time           float64
		atRisk, events int
		s, se, lo, hi  float64
	}{
		{6, 21, 3, 18.0 / 21, 0.0764, 0.620, 0.952},
		{7, 17, 1, 18.0 / 21 * 16 / 17, 0.0869, 0.563, 0.923},
		{10, 15, 1, 18.0 / 21 * 16 / 17 * 14 / 15, 0.0963, 0.503, 0.889},
		{13, 12, 1, 18.0 / 21 * 16 / 17 * 14 / 15 * 11 / 12, 0.1068, 0.432, 0.849},
		{16, 11, 1, 18.0 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11, 0.1141, 0.368, 0.805},
		{22, 7, 1, 18.0 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11 * 6 / 7, 0.1282, 0.268, 0.747},
		{23, 6, 1, 18.0 / 21 * 16 / 17 * 14 / 15 * 11 / 12 * 10 / 11 * 6 / 7 * 5 / 6, 0.1346, 0.188, 0.680},
	}
	if len(c.Points) != len(want) {
		t.Fatalf("%d points, want %d", len(c.Points), len(want))
	}
	for i, w := range want {
		p := c.Points[i]
		if p.Time != w.time || p.AtRisk != w.atRisk || p.Events != w.events {
			t.Errorf("point %d = t %v n %d d %d, want %v %d %d", i, p.Time, p.AtRisk, p.Events, w.time, w.atRisk, w.events)
		}
		for _, f := range []struct {
			name      string
			got, want float64
			tol       float64
		}{{"S", p.Survival, w.s, 1e-12}, {"se", p.StdErr, w.se, 5e-5}, {"lower", p.Lower, w.lo, 5e-4}, {"upper", p.Upper, w.hi, 5e-4}} {
			if math.Abs(f.got-f.want) > f.tol {
				t.Errorf("t=%v %s = %.5f, want %.5f", w.time, f.name, f.got, f.want)
			}
		}
	}
	if c.N != 21 || c.Events != 9 {
		t.Errorf("n %d events %d, want 21 9", c.N, c.Events)
	}
	// S(22) = 0.538 > 0.5, S(23) = 0.448: median 23. The lower band first
	// reaches 0.5 at 13 (0.432; 0.503 at 10 is above); the upper one never (0.680 at the end).
	if c.Median == nil || *c.Median != 23 {
		t.Errorf("median %v, want 23", c.Median)
	}
	if c.MedianLower == nil || *c.MedianLower != 13 {
		t.Errorf("median lower %v, want 13", c.MedianLower)
	}
	if c.MedianUpper != nil {
		t.Errorf("median upper %v, want none", *c.MedianUpper)
	}
	if got := c.At(12); math.Abs(got-want[2].s) > 1e-12 {
		t.Errorf("S(12) = %v, want S(10) = %v", got, want[2].s)
	}
	if c.At(5) != 1 {
		t.Errorf("S(5) = %v, want 1", c.At(5))
	}
}

func TestKaplanMeierEdges(t *testing.T) {
	tests := []struct {
		name   string
		obs    []Observation
		median *float64
		last   float64
	}{
		{"all censored", []Observation{{3, false, ""}, {5, false, ""}}, nil, 1},
		{"everyone dies", []Observation{{1, true, ""}, {2, true, ""}}, ptr(1), 0},
		{"empty", nil, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := KaplanMeier(tt.obs)
			if err != nil {
				t.Fatal(err)
			}
			if (c.Median == nil) != (tt.median == nil) || (c.Median != nil && *c.Median != *tt.median) {
				t.Errorf("median %v, want %v", c.Median, tt.median)
			}
			if got := c.At(100); got != tt.last {
				t.Errorf("S(100) = %v, want %v", got, tt.last)
			}
		})
	}
	if _, err := KaplanMeier([]Observation{{-1, true, ""}}); err == nil {
		t.Error("negative duration accepted")
	}
}

func ptr(v float64) *float64 { return &v }

// datasets finds shared/datasets by walking up from the test's directory.
func datasets(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "datasets")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no shared/datasets directory above the test: the Telco check needs ../shared/datasets beside the project (CI has it)")
		}
		dir = parent
	}
}

// TestTelcoMonthToMonthInternet reproduces the Databricks survival
// accelerator (PROVENANCE.md, baseline 2): Contract month-to-month and
// InternetService not "No", duration = tenure months, event = Churn Yes.
func TestTelcoMonthToMonthInternet(t *testing.T) {
	f, err := os.Open(filepath.Join(datasets(t), "telco-churn", "WA_Fn-UseC_-Telco-Customer-Churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var all, cohort []Observation
	for _, r := range rows[1:] {
		tenure, err := strconv.ParseFloat(r[col["tenure"]], 64)
		if err != nil {
			t.Fatal(err)
		}
		o := Observation{Duration: tenure, Event: r[col["Churn"]] == "Yes"}
		all = append(all, o)
		if r[col["Contract"]] == "Month-to-month" && r[col["InternetService"]] != "No" {
			cohort = append(cohort, o)
		}
	}
	c, err := KaplanMeier(cohort)
	if err != nil {
		t.Fatal(err)
	}
	if c.N != 3351 || c.Events != 1556 {
		t.Errorf("cohort n %d events %d, want 3351 1556", c.N, c.Events)
	}
	if c.Median == nil || *c.Median != 34 {
		t.Errorf("median %v, want 34", c.Median)
	}
	for _, w := range []struct{ t, s float64 }{{12, 0.6950}, {24, 0.5753}, {34, 0.4951}, {72, 0.1266}} {
		if got := c.At(w.t); math.Abs(got-w.s) > 5e-5 {
			t.Errorf("cohort S(%v) = %.5f, want %.4f", w.t, got, w.s)
		}
	}
	if c.MedianLower == nil || c.MedianUpper == nil || *c.MedianLower > 34 || *c.MedianUpper < 34 {
		t.Errorf("median CI [%v, %v] does not contain 34", c.MedianLower, c.MedianUpper)
	} else {
		t.Logf("median 34, 95%% CI [%v, %v]", *c.MedianLower, *c.MedianUpper)
	}
	a, err := KaplanMeier(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ t, s float64 }{{1, 0.945961}, {12, 0.8432}, {24, 0.7887}, {36, 0.7485}, {72, 0.5928}} {
		if got := a.At(w.t); math.Abs(got-w.s) > 5e-5 {
			t.Errorf("all S(%v) = %.6f, want %v", w.t, got, w.s)
		}
	}
	if a.Median != nil {
		t.Errorf("all: median %v, want not reached", *a.Median)
	}
}

func TestByGroup(t *testing.T) {
	obs := []Observation{{1, true, "b"}, {2, false, "b"}, {1, false, "a"}, {2, true, "a"}, {3, true, "a"}}
	cs, err := ByGroup(obs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Group != "a" || cs[1].Group != "b" {
		t.Fatalf("groups %+v", cs)
	}
	// a: n=3; t=1 censored; t=2: 1 of 2 → 0.5; t=3: 1 of 1 → 0.
	if cs[0].At(2) != 0.5 || cs[0].At(3) != 0 || *cs[0].Median != 2 {
		t.Errorf("a: S(2) %v S(3) %v median %v", cs[0].At(2), cs[0].At(3), *cs[0].Median)
	}
	// b: t=1: 1 of 2 → 0.5, then censored.
	if cs[1].At(5) != 0.5 || *cs[1].Median != 1 {
		t.Errorf("b: S(5) %v median %v", cs[1].At(5), *cs[1].Median)
	}
}
