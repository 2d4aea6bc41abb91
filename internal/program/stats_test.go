package program_test

import (
	"errors"
	"math"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/program"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestDiffInDiff checks the estimate and its interval against arithmetic
// done by hand.
//
// Participants: pre 0 0 0 0, post 1 1 0 1 → changes Δ = 1 1 0 1, mean 0.75,
// squared deviations 0.0625·3 + 0.5625 = 0.75, variance 0.75/3 = 0.25.
// Control: pre 0 1 0 0 0, post 0 1 1 0 0 → Δ = 0 0 1 0 0, mean 0.2,
// squared deviations 0.04·4 + 0.64 = 0.8, variance 0.8/4 = 0.2.
// DiD = 0.75 − 0.2 = 0.55; SE = sqrt(0.25/4 + 0.2/5) = sqrt(0.1025) =
// 0.3201562; CI = 0.55 ± 1.959964·0.3201562 = 0.55 ± 0.6274946 =
// [−0.0774946, 1.1774946].
func TestDiffInDiff(t *testing.T) {
	d, err := program.DiffInDiff([]float64{0, 0, 0, 0}, []float64{1, 1, 0, 1}, []float64{0, 1, 0, 0, 0}, []float64{0, 1, 1, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := program.DiD{TreatedPre: 0, TreatedPost: 0.75, ControlPre: 0.2, ControlPost: 0.4, NTreated: 4, NControl: 5,
		Effect: 0.55, StdErr: 0.3201562, Low: -0.0774946, High: 1.1774946}
	got := []float64{d.TreatedPre, d.TreatedPost, d.ControlPre, d.ControlPost, d.Effect, d.StdErr, d.Low, d.High}
	exp := []float64{want.TreatedPre, want.TreatedPost, want.ControlPre, want.ControlPost, want.Effect, want.StdErr, want.Low, want.High}
	for i := range got {
		if !near(got[i], exp[i], 5e-7) {
			t.Errorf("value %d: got %.7f, want %.7f (%+v)", i, got[i], exp[i], d)
		}
	}
	if d.NTreated != 4 || d.NControl != 5 {
		t.Errorf("groups %d, %d", d.NTreated, d.NControl)
	}

	// Events per account: participants 2→5, 4→6 (Δ 3, 2: mean 2.5, var 0.5);
	// control 3→3, 1→2, 2→2 (Δ 0, 1, 0: mean 1/3, var 1/3). DiD = 2.5 − 1/3
	// = 2.1666667; SE = sqrt(0.5/2 + (1/3)/3) = sqrt(0.3611111) = 0.6009252;
	// CI 2.1666667 ± 1.1777918 = [0.9888749, 3.3444585].
	d, err = program.DiffInDiff([]float64{2, 4}, []float64{5, 6}, []float64{3, 1, 2}, []float64{3, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	if !near(d.Effect, 2.1666667, 5e-7) || !near(d.StdErr, 0.6009252, 5e-7) || !near(d.Low, 0.9888749, 5e-7) || !near(d.High, 3.3444585, 5e-7) {
		t.Errorf("events: %+v", d)
	}

	for _, tc := range []struct {
		name                   string
		tPre, tPost, cPre, cPo []float64
	}{
		{"one participant", []float64{0}, []float64{1}, []float64{0, 0}, []float64{0, 1}},
		{"one control", []float64{0, 0}, []float64{1, 1}, []float64{0}, []float64{0}},
	} {
		if _, err := program.DiffInDiff(tc.tPre, tc.tPost, tc.cPre, tc.cPo); !errors.Is(err, program.ErrTooFew) {
			t.Errorf("%s: err %v, want ErrTooFew", tc.name, err)
		}
	}
	if _, err := program.DiffInDiff([]float64{0, 0}, []float64{1}, []float64{0, 0}, []float64{0, 1}); err == nil {
		t.Error("pre and post of different lengths accepted")
	}
}

// TestRiskDifference checks Newcombe's hybrid score interval against the
// worked examples of Newcombe (1998), "Interval estimation for the
// difference between independent proportions", Statistics in Medicine 17,
// Table II, method 10, and one more done by hand.
func TestRiskDifference(t *testing.T) {
	for _, tc := range []struct {
		x1, n1, x2, n2 int
		effect, lo, hi float64
	}{
		// (a) 56/70 − 48/80 = 0.8 − 0.6 = 0.2. Wilson 56/70: [0.6918336,
		// 0.8769526]; 48/80: [0.4904547, 0.7003817]. Lower 0.2 −
		// sqrt(0.1081664² + 0.1003817²) = 0.2 − 0.1475685 = 0.0524315;
		// upper 0.2 + sqrt(0.0769526² + 0.1095453²) = 0.2 + 0.1338726 = 0.3338727.
		// Newcombe: 0.0524 to 0.3339.
		{56, 70, 48, 80, 0.2, 0.0524315, 0.3338727},
		// (b) 9/10 − 3/10: Newcombe 0.1705 to 0.8090.
		{9, 10, 3, 10, 0.6, 0.1705227, 0.8090180},
		// (e) 0/10 − 0/20: the interval is [−u2, u1] with u the Wilson
		// upper limits 0.1611252 (0/20) and 0.2775328 (0/10).
		// Newcombe: −0.1611 to 0.2775.
		{0, 10, 0, 20, 0, -0.1611252, 0.2775328},
		// 6/7 − 2/7 = 0.5714286; Wilson 6/7 [0.4868722, 0.9743204], 2/7
		// [0.0822189, 0.6410655]: lower 0.5714286 − sqrt(0.3702707² +
		// 0.3553512²) = 0.5714286 − 0.5132007 = 0.0582279; upper 0.5714286
		// + sqrt(0.1171775² + 0.2034954²) = 0.5714286 + 0.2348210 = 0.8062496.
		{6, 7, 2, 7, 0.5714286, 0.0582279, 0.8062496},
	} {
		r, err := program.RiskDifference(tc.x1, tc.n1, tc.x2, tc.n2)
		if err != nil {
			t.Fatal(err)
		}
		if !near(r.Effect, tc.effect, 5e-7) || !near(r.Low, tc.lo, 5e-7) || !near(r.High, tc.hi, 5e-7) {
			t.Errorf("%d/%d − %d/%d: %.7f [%.7f, %.7f], want %.7f [%.7f, %.7f]", tc.x1, tc.n1, tc.x2, tc.n2,
				r.Effect, r.Low, r.High, tc.effect, tc.lo, tc.hi)
		}
	}
	if _, err := program.RiskDifference(1, 0, 1, 5); err == nil {
		t.Error("an empty group accepted")
	}
	if _, err := program.RiskDifference(6, 5, 1, 5); err == nil {
		t.Error("more events than accounts accepted")
	}
}

// TestWilson: 56/70 → centre (0.8 + 1.9208/70)/(1 + 3.8415/70) =
// 0.8274395/1.0548784 = 0.7843931, half-width 1.959964/1.0548784 ·
// sqrt(0.16/70 + 3.8415/19600) = 1.8580 · 0.0498170 = 0.0925595: [0.6918336, 0.8769526].
func TestWilson(t *testing.T) {
	lo, hi := program.Wilson(56, 70)
	if !near(lo, 0.6918336, 5e-7) || !near(hi, 0.8769526, 5e-7) {
		t.Errorf("56/70: [%.7f, %.7f]", lo, hi)
	}
	if lo, hi := program.Wilson(0, 0); lo != 0 || hi != 1 {
		t.Errorf("0/0: [%v, %v], want [0, 1]", lo, hi)
	}
}

// TestRiskRatio: 10/100 over 20/100 = 0.5; SE of log = sqrt(1/10 − 1/100 +
// 1/20 − 1/100) = sqrt(0.13) = 0.3605551; CI 0.5·exp(∓0.7066750) =
// [0.2466408, 1.0136198].
func TestRiskRatio(t *testing.T) {
	r := program.RiskRatio(10, 100, 20, 100)
	if !r.Defined || !near(r.Value, 0.5, 1e-9) || !near(r.Low, 0.2466408, 5e-7) || !near(r.High, 1.0136198, 5e-7) {
		t.Errorf("got %+v", r)
	}
	if r := program.RiskRatio(0, 100, 20, 100); r.Defined {
		t.Errorf("no events in a group: %+v, want undefined", r)
	}
}

// TestMeanDifference: a = 9 10 8 (mean 9, var 1), b = 6 7 8 7 (mean 7, var
// 2/3): 2 ± 1.959964·sqrt(1/3 + 1/6) = 2 ± 1.959964·0.7071068 = 2 ± 1.3859038.
func TestMeanDifference(t *testing.T) {
	d, err := program.MeanDifference([]float64{9, 10, 8}, []float64{6, 7, 8, 7})
	if err != nil {
		t.Fatal(err)
	}
	if !near(d.Effect, 2, 1e-9) || !near(d.StdErr, 0.7071068, 5e-7) || !near(d.Low, 0.6140962, 5e-7) || !near(d.High, 3.3859038, 5e-7) {
		t.Errorf("got %+v", d)
	}
	if _, err := program.MeanDifference([]float64{9}, []float64{6, 7}); !errors.Is(err, program.ErrTooFew) {
		t.Errorf("one adopter: %v", err)
	}
}
