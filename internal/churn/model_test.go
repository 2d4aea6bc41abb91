package churn

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// twoByTwo is x = 0: 10 churned, 30 stayed; x = 1: 20 churned, 20 stayed.
func twoByTwo() Data {
	d := Data{Features: []string{"x"}}
	add := func(x float64, churned bool, n int) {
		for range n {
			d.X = append(d.X, x)
			d.Y = append(d.Y, churned)
		}
	}
	add(0, true, 10)
	add(0, false, 30)
	add(1, true, 20)
	add(1, false, 20)
	return d
}

// TestFitClosedForm: unpenalised, one binary feature, the maximum
// likelihood fit is the log odds ratio, log((20/20)/(10/30)) = log 3, with
// Woolf's standard error sqrt(1/10 + 1/30 + 1/20 + 1/20); x has mean 0.5
// and standard deviation 0.5, so the standardised values are half of those.
func TestFitClosedForm(t *testing.T) {
	m, err := Fit(twoByTwo(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"mean", m.Mean[0], 0.5},
		{"scale", m.Scale[0], 0.5},
		{"coefficient", m.Coef[0], 0.5 * math.Log(3)},
		{"std error", m.StdErr[0], 0.5 * math.Sqrt(1.0/10+1.0/30+1.0/20+1.0/20)},
		{"intercept", m.Intercept, math.Log(1.0/3) + 0.5*math.Log(3)},
		{"p(x=0)", m.Predict([]float64{0}), 0.25},
		{"p(x=1)", m.Predict([]float64{1}), 0.5},
	} {
		if math.Abs(c.got-c.want) > 1e-5 {
			t.Errorf("%s = %.7f, want %.7f", c.name, c.got, c.want)
		}
	}
	dr := m.Drivers()[0]
	if math.Abs(dr.OddsRatio-math.Sqrt(3)) > 1e-5 || math.Abs(dr.CILow-(dr.Coefficient-Z95*dr.StdErr)) > 1e-12 {
		t.Errorf("driver %+v", dr)
	}
}

// TestFitPenalisedStationary checks the L2 fit where no closed form exists:
// at the optimum the penalised gradient vanishes, Σ r·z + λβ = 0 and Σ r = 0
// (the intercept is not penalised), computed here independently of the
// package's objective; and the penalty shrinks the coefficient.
func TestFitPenalisedStationary(t *testing.T) {
	d := Data{Features: []string{"a", "b"}}
	rows := [][3]float64{{1, 2, 1}, {2, 1, 0}, {3, 4, 1}, {4, 3, 1}, {5, 7, 0}, {6, 5, 1}, {7, 8, 0}, {8, 6, 0}, {9, 9, 1}, {10, 2, 0}}
	for _, r := range rows {
		d.X = append(d.X, r[0], r[1])
		d.Y = append(d.Y, r[2] == 1)
	}
	for _, lambda := range []float64{0.5, 5} {
		m, err := Fit(d, nil, lambda)
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, 3)
		for i := range d.Y {
			r := m.Predict(d.Row(i))
			if d.Y[i] {
				r--
			}
			g[0] += r
			for j := 0; j < 2; j++ {
				g[1+j] += r * (d.Row(i)[j] - m.Mean[j]) / m.Scale[j]
			}
		}
		g[1] += lambda * m.Coef[0]
		g[2] += lambda * m.Coef[1]
		for j, v := range g {
			if math.Abs(v) > 1e-4 {
				t.Errorf("λ=%v: gradient[%d] = %v at the fit", lambda, j, v)
			}
		}
	}
	weak, _ := Fit(d, nil, 0.5)
	strong, _ := Fit(d, nil, 5)
	if math.Abs(strong.Coef[0]) >= math.Abs(weak.Coef[0]) {
		t.Errorf("λ=5 |β_a| %v not below λ=0.5 %v", strong.Coef[0], weak.Coef[0])
	}
}

func TestAUCAndCalibration(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		y      []bool
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 1},
		{"inverted", []float64{0.9, 0.8, 0.2, 0.1}, []bool{false, false, true, true}, 0},
		// Pairs (pos, neg): (0.4 vs 0.1 win), (0.4 vs 0.5 loss), (0.5 vs 0.1 win), (0.5 vs 0.5 tie) = 2.5/4.
		{"ties", []float64{0.1, 0.5, 0.4, 0.5}, []bool{false, false, true, true}, 0.625},
	}
	for _, tt := range tests {
		if got := AUC(tt.scores, tt.y); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: AUC %v, want %v", tt.name, got, tt.want)
		}
	}
	bins, brier := Calibration([]float64{0.05, 0.15, 0.95, 1}, []bool{false, true, true, true}, 10)
	// (0.05² + 0.85² + 0.05² + 0) / 4
	if math.Abs(brier-(0.0025+0.7225+0.0025)/4) > 1e-12 {
		t.Errorf("brier %v", brier)
	}
	if bins[0].Count != 1 || bins[1].Count != 1 || bins[1].Observed != 1 || bins[9].Count != 2 || math.Abs(bins[9].Predicted-0.975) > 1e-12 {
		t.Errorf("bins %+v", bins)
	}
}

func TestFoldsStratified(t *testing.T) {
	y := make([]bool, 103)
	for i := range 23 {
		y[i*4] = true
	}
	fold := Folds(y, 5, 1)
	var pos, all [5]int
	for i, f := range fold {
		all[f]++
		if y[i] {
			pos[f]++
		}
	}
	for f := range 5 {
		// 23 churners dealt round robin: 5,5,5,4,4; 80 stayers: 16 each.
		if pos[f] < 4 || pos[f] > 5 || all[f]-pos[f] != 16 {
			t.Errorf("fold %d: %d churned of %d", f, pos[f], all[f])
		}
	}
	again := Folds(y, 5, 1)
	for i := range fold {
		if fold[i] != again[i] {
			t.Fatal("folds differ for the same seed")
		}
	}
}

func TestFitBadInput(t *testing.T) {
	if _, err := Fit(Data{Features: []string{"a"}, X: []float64{1, 2}, Y: []bool{true}}, nil, 1); err == nil || !strings.Contains(err.Error(), "2 values for 1 rows") {
		t.Errorf("shape error %v", err)
	}
	if _, err := Fit(Data{Features: []string{"a"}, X: []float64{1, math.NaN()}, Y: []bool{true, false}}, nil, 1); err == nil || !strings.Contains(err.Error(), `feature "a"`) {
		t.Errorf("NaN error %v", err)
	}
	if _, err := Fit(Data{Features: []string{"a"}, X: []float64{1, 2}, Y: []bool{true, true}}, nil, 1); err == nil || !strings.Contains(err.Error(), "one class") {
		t.Errorf("one-class error %v", err)
	}
}

// datasets finds shared/datasets by walking up from the test's directory.
func datasets(t testing.TB) string {
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

// telcoRows reads the Telco CSV as header → value maps.
func telcoRows(t testing.TB) []map[string]string {
	f, err := os.Open(filepath.Join(datasets(t), "telco-churn", "WA_Fn-UseC_-Telco-Customer-Churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// telcoData prepares Telco as the ML Bookcamp notebook does (PROVENANCE.md):
// TotalCharges blanks → 0, lower-case values with spaces → "_", every
// categorical one-hot (here through Encode: without a baseline level and
// without 7 columns collinear through "no internet service" and "no phone
// service"), numeric seniorcitizen, tenure, monthlycharges, totalcharges:
// 45 columns less 15 baselines less 7 collinear = 23.
func telcoData(t testing.TB) (Data, Encoding) {
	rows := telcoRows(t)
	numeric := map[string]bool{"SeniorCitizen": true, "tenure": true, "MonthlyCharges": true, "TotalCharges": true}
	var examples []Example
	for _, r := range rows {
		ex := Example{Numeric: map[string]float64{}, Category: map[string]string{}, Churned: r["Churn"] == "Yes"}
		for k, v := range r {
			switch {
			case k == "customerID" || k == "Churn":
			case numeric[k]:
				var f float64
				if s := strings.TrimSpace(v); s != "" {
					var err error
					if f, err = strconv.ParseFloat(s, 64); err != nil {
						t.Fatalf("%s %q: %v", k, v, err)
					}
				}
				ex.Numeric[strings.ToLower(k)] = f
			default:
				ex.Category[strings.ToLower(k)] = strings.ReplaceAll(strings.ToLower(v), " ", "_")
			}
		}
		examples = append(examples, ex)
	}
	d, enc, err := Encode(examples)
	if err != nil {
		t.Fatal(err)
	}
	return d, enc
}

// TestTelco checks the published band (PROVENANCE.md baseline 1: 5-fold AUC
// 0.839–0.841, sanity band 0.83–0.86) and the published drivers.
func TestTelco(t *testing.T) {
	d, enc := telcoData(t)
	if len(d.Features) != 23 || d.Rows() != 7043 || len(enc.Collinear) != 7 {
		t.Fatalf("%d features × %d rows, %d collinear %v; want 23 × 7043, 7", len(d.Features), d.Rows(), len(enc.Collinear), enc.Collinear)
	}
	if enc.Baselines["contract"] != "two_year" || enc.Baselines["internetservice"] != "no" {
		t.Errorf("baselines %v", enc.Baselines)
	}
	e, err := Evaluate(d, 5, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("5-fold AUC %.4f (folds %.3f), Brier %.4f, %d iterations", e.AUC, e.FoldAUC, e.Brier, e.Model.Iterations)
	if e.AUC < 0.83 || e.AUC > 0.86 {
		t.Errorf("AUC %.4f outside 0.83–0.86", e.AUC)
	}
	if e.Positives != 1869 {
		t.Errorf("%d churned, want 1869", e.Positives)
	}
	// A reasonably calibrated model on a 26.5 % base rate: the Brier score
	// of always predicting the base rate is 0.265·0.735 = 0.195.
	if e.Brier > 0.15 {
		t.Errorf("Brier %.4f, want ≤ 0.15", e.Brier)
	}
	for _, b := range e.Reliability {
		if b.Count >= 100 && math.Abs(b.Predicted-b.Observed) > 0.1 {
			t.Errorf("bin [%.1f, %.1f): predicted %.3f observed %.3f over %d", b.Low, b.High, b.Predicted, b.Observed, b.Count)
		}
	}
	rank := map[string]int{}
	for i, dr := range e.Drivers {
		rank[dr.Feature] = i
		if i < 8 {
			t.Logf("%d %-40s coef %+.3f z %+.2f OR %.3f [%.3f, %.3f]", i+1, dr.Feature, dr.Coefficient, dr.Z, dr.OddsRatio, dr.OddsRatioLow, dr.OddsRatioHigh)
		}
	}
	byName := map[string]Driver{}
	for _, dr := range e.Drivers {
		byName[dr.Feature] = dr
	}
	for _, w := range []struct {
		feature string
		sign    float64
	}{{"contract=month-to-month", 1}, {"tenure", -1}, {"internetservice=fiber_optic", 1}} {
		dr := byName[w.feature]
		if rank[w.feature] >= 6 || dr.Coefficient*w.sign <= 0 || (w.sign > 0 && dr.CILow <= 0) || (w.sign < 0 && dr.CIHigh >= 0) {
			t.Errorf("%s: rank %d, coefficient %+.3f [%.3f, %.3f]; want in the top 6 with sign %+v and a CI excluding 0",
				w.feature, rank[w.feature]+1, dr.Coefficient, dr.CILow, dr.CIHigh, w.sign)
		}
	}
	// A month-to-month fiber customer one month in is a textbook churner:
	// the reasons must name those features.
	var row []float64
	for i := range d.Y {
		r := d.Row(i)
		if r[indexOf(d.Features, "contract=month-to-month")] == 1 && r[indexOf(d.Features, "internetservice=fiber_optic")] == 1 && r[indexOf(d.Features, "tenure")] == 1 {
			row = r
			break
		}
	}
	reasons := e.Model.Reasons(row, 5)
	names := map[string]bool{}
	for _, r := range reasons {
		names[r.Feature] = true
	}
	if p := e.Model.Predict(row); p < 0.5 || !names["tenure"] || !names["contract=month-to-month"] {
		t.Errorf("p %.3f, reasons %+v", p, reasons)
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func TestEncode(t *testing.T) {
	examples := []Example{
		{Numeric: map[string]float64{"x": 1, "k": 5}, Category: map[string]string{"plan": "a", "tier": "gold"}, Churned: true},
		{Numeric: map[string]float64{"x": 2, "k": 5}, Category: map[string]string{"plan": "b"}, Churned: false},
		{Numeric: map[string]float64{"x": 3, "k": 5}, Category: map[string]string{"plan": "a", "tier": "gold"}, Churned: false},
		{Numeric: map[string]float64{"x": 4, "k": 5}, Category: map[string]string{"plan": "c"}, Churned: true},
	}
	d, enc, err := Encode(examples)
	if err != nil {
		t.Fatal(err)
	}
	// plan: a 1/2, b 0/1 (baseline), c 1/1. tier: gold 1/2, (none) 1/2 — a
	// tie broken by count then name, so (none) is the baseline; but
	// tier=gold equals plan=a row for row: collinear, dropped (plan=a is as
	// strong and comes first by name). k is constant.
	want := []string{"plan=a", "plan=c", "x"}
	if strings.Join(d.Features, ",") != strings.Join(want, ",") || enc.Baselines["plan"] != "b" || enc.Baselines["tier"] != Missing ||
		strings.Join(enc.Constant, ",") != "k" || strings.Join(enc.Collinear, ",") != "tier=gold" {
		t.Fatalf("features %v, encoding %+v", d.Features, enc)
	}
	wantX := []float64{1, 0, 1, 0, 0, 2, 1, 0, 3, 0, 1, 4}
	for i, v := range wantX {
		if d.X[i] != v {
			t.Fatalf("X = %v, want %v", d.X, wantX)
		}
	}
	m := &Model{Features: d.Features, Mean: []float64{0, 0, 0}, Scale: []float64{1, 1, 1}, Coef: []float64{1, 2, 3}}
	if row := m.Row(Example{Numeric: map[string]float64{"x": 7}, Category: map[string]string{"plan": "c"}}); row[0] != 0 || row[1] != 1 || row[2] != 7 {
		t.Errorf("row %v", row)
	}
	if _, _, err := Encode([]Example{{Numeric: map[string]float64{"x": math.NaN()}}}); err == nil {
		t.Error("NaN accepted")
	}
}
