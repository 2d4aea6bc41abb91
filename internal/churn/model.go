// Package churn is Kizuna's churn-risk model: an L2-regularised logistic
// regression on standardised features, cross-validated (stratified k-fold
// AUC), calibrated (reliability bins, Brier score) and explained
// (standardised coefficients with Fisher-information intervals, odds ratios,
// per-account reasons). Train fits it from account snapshots at past dates.
package churn

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Z95 is the standard normal quantile of the two-sided 95 % interval.
const Z95 = 1.959963984540054

// Data is a design matrix: Rows × len(Features) values, row-major in X, and
// the label of each row in Y (true = churned).
type Data struct {
	Features []string
	X        []float64
	Y        []bool
}

// Rows is the number of rows.
func (d Data) Rows() int { return len(d.Y) }

// Row is row i's feature values (a view into X).
func (d Data) Row(i int) []float64 {
	p := len(d.Features)
	return d.X[i*p : (i+1)*p]
}

func (d Data) check() error {
	p := len(d.Features)
	if p == 0 {
		return errors.New("no features")
	}
	if len(d.X) != p*len(d.Y) {
		return fmt.Errorf("%d values for %d rows × %d features", len(d.X), len(d.Y), p)
	}
	for i, v := range d.X {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("row %d, feature %q: value %v is not finite", i/p, d.Features[i%p], v)
		}
	}
	return nil
}

// Model is a fitted logistic regression. Coefficients are on standardised
// features ((x − Mean)/Scale), so their sizes compare across features; the
// intercept is not penalised.
type Model struct {
	Features  []string  `json:"features"`
	Mean      []float64 `json:"mean"`
	Scale     []float64 `json:"scale"`
	Intercept float64   `json:"intercept"`
	Coef      []float64 `json:"coefficients"`
	// StdErr are the coefficients' standard errors from the inverse Hessian
	// of the penalised negative log-likelihood at the optimum (the observed
	// Fisher information plus λI); InterceptStdErr likewise.
	StdErr          []float64 `json:"std_errors"`
	InterceptStdErr float64   `json:"intercept_std_error"`
	Lambda          float64   `json:"lambda"`
	Iterations      int       `json:"iterations"`
}

// Fit fits the model on the rows idx of d (all rows when idx is nil) with
// L2 penalty λ/2·‖β‖² on the standardised coefficients: λ = 1 is
// scikit-learn's C = 1.
func Fit(d Data, idx []int, lambda float64) (*Model, error) {
	return fit(d, idx, lambda, true)
}

// fit is Fit, without the standard errors (an n·p² pass) unless withSE:
// cross-validation folds only predict.
func fit(d Data, idx []int, lambda float64, withSE bool) (*Model, error) {
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("fit logistic regression: %w", err)
	}
	if lambda < 0 || math.IsNaN(lambda) {
		return nil, fmt.Errorf("fit logistic regression: λ %v must be ≥ 0", lambda)
	}
	if idx == nil {
		idx = make([]int, d.Rows())
		for i := range idx {
			idx[i] = i
		}
	}
	if len(idx) == 0 {
		return nil, errors.New("fit logistic regression: no rows")
	}
	p := len(d.Features)
	m := &Model{Features: d.Features, Mean: make([]float64, p), Scale: make([]float64, p), Coef: make([]float64, p),
		StdErr: make([]float64, p), Lambda: lambda}
	m.standardise(d, idx)
	f := &objective{d: d, idx: idx, m: m, lambda: lambda, last: make([]float64, p+1), grad: make([]float64, p+1), w: make([]float64, p)}
	f.last[0] = math.NaN()
	pos := 0
	for _, i := range idx {
		if d.Y[i] {
			pos++
		}
	}
	if pos == 0 || pos == len(idx) {
		return nil, fmt.Errorf("fit logistic regression: the %d rows are all of one class (%d churned)", len(idx), pos)
	}
	// Start at the base rate: the intercept alone is then optimal, so the
	// optimiser only has to find the slopes.
	x0 := make([]float64, p+1)
	rate := float64(pos) / float64(len(idx))
	x0[0] = math.Log(rate / (1 - rate))
	prob := optimize.Problem{
		Func: func(x []float64) float64 { f.eval(x); return f.value },
		Grad: func(g, x []float64) { f.eval(x); copy(g, f.grad) },
	}
	// The objective is a sum over rows; a gradient norm relative to the row
	// count keeps the stopping rule independent of the data size.
	settings := &optimize.Settings{GradientThreshold: 1e-6 * float64(len(idx)), MajorIterations: 1000}
	res, err := optimize.Minimize(prob, x0, settings, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("fit logistic regression: %w", err)
	}
	m.Intercept = res.X[0]
	copy(m.Coef, res.X[1:])
	m.Iterations = res.Stats.MajorIterations
	if !withSE {
		return m, nil
	}
	if err := m.stdErrors(d, idx); err != nil {
		return nil, fmt.Errorf("fit logistic regression: %w", err)
	}
	return m, nil
}

func (m *Model) standardise(d Data, idx []int) {
	p := len(d.Features)
	n := float64(len(idx))
	for _, i := range idx {
		row := d.Row(i)
		for j := 0; j < p; j++ {
			m.Mean[j] += row[j]
		}
	}
	for j := range m.Mean {
		m.Mean[j] /= n
	}
	for _, i := range idx {
		row := d.Row(i)
		for j := 0; j < p; j++ {
			dv := row[j] - m.Mean[j]
			m.Scale[j] += dv * dv
		}
	}
	for j := range m.Scale {
		m.Scale[j] = math.Sqrt(m.Scale[j] / n)
		// A constant column carries no information; scale 1 leaves its
		// standardised value at 0 so the penalty holds its coefficient at 0.
		if m.Scale[j] < 1e-12 {
			m.Scale[j] = 1
		}
	}
}

// objective is the penalised negative log-likelihood and its gradient at
// x = (intercept, β), evaluated together and memoised because the optimiser
// asks for both at the same point.
type objective struct {
	d      Data
	idx    []int
	m      *Model
	lambda float64
	last   []float64
	value  float64
	grad   []float64
	w      []float64
}

func (f *objective) eval(x []float64) {
	if equal(x, f.last) {
		return
	}
	copy(f.last, x)
	p := len(f.d.Features)
	// Work on raw values with w_j = β_j/s_j and a shifted intercept rather
	// than copying a standardised matrix: the same linear predictor.
	b0 := x[0]
	for j := 0; j < p; j++ {
		f.w[j] = x[1+j] / f.m.Scale[j]
		b0 -= f.w[j] * f.m.Mean[j]
	}
	for j := range f.grad {
		f.grad[j] = 0
	}
	gx := f.grad[1:]
	value, sumR := 0.0, 0.0
	for _, i := range f.idx {
		row := f.d.X[i*p : (i+1)*p]
		eta := b0
		for j, v := range row {
			eta += f.w[j] * v
		}
		// log(1+e^η) − yη, stably for large |η|.
		var y float64
		if f.d.Y[i] {
			y = 1
		}
		value += softplus(eta) - y*eta
		r := sigmoid(eta) - y
		sumR += r
		for j, v := range row {
			gx[j] += r * v
		}
	}
	f.grad[0] = sumR
	for j := 0; j < p; j++ {
		// ∂/∂β_j of Σ r·(x_j − m_j)/s_j.
		gx[j] = (gx[j]-f.m.Mean[j]*sumR)/f.m.Scale[j] + f.lambda*x[1+j]
		value += f.lambda / 2 * x[1+j] * x[1+j]
	}
	f.value = value
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sigmoid(eta float64) float64 {
	if eta >= 0 {
		return 1 / (1 + math.Exp(-eta))
	}
	e := math.Exp(eta)
	return e / (1 + e)
}

func softplus(eta float64) float64 {
	if eta > 0 {
		return eta + math.Log1p(math.Exp(-eta))
	}
	return math.Log1p(math.Exp(eta))
}

// stdErrors inverts the Hessian of the penalised objective,
// Σ π(1−π)·z zᵀ + diag(0, λ, …, λ) over (1, z), at the fit.
func (m *Model) stdErrors(d Data, idx []int) error {
	p := len(d.Features)
	h := make([]float64, (p+1)*(p+1))
	z := make([]float64, p+1)
	z[0] = 1
	for _, i := range idx {
		row := d.Row(i)
		eta := m.Intercept
		for j, v := range row {
			z[1+j] = (v - m.Mean[j]) / m.Scale[j]
			eta += m.Coef[j] * z[1+j]
		}
		pr := sigmoid(eta)
		w := pr * (1 - pr)
		for a := 0; a <= p; a++ {
			wa := w * z[a]
			ha := h[a*(p+1) : (a+1)*(p+1)]
			for b := a; b <= p; b++ {
				ha[b] += wa * z[b]
			}
		}
	}
	hs := mat.NewSymDense(p+1, nil)
	for a := 0; a <= p; a++ {
		for b := a; b <= p; b++ {
			v := h[a*(p+1)+b]
			if a == b && a > 0 {
				v += m.Lambda
			}
			hs.SetSym(a, b, v)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(hs) {
		return errors.New("the Hessian is not positive definite (collinear features with λ = 0?)")
	}
	var inv mat.SymDense
	if err := chol.InverseTo(&inv); err != nil {
		return fmt.Errorf("invert the Hessian: %w", err)
	}
	m.InterceptStdErr = math.Sqrt(inv.At(0, 0))
	for j := 0; j < p; j++ {
		m.StdErr[j] = math.Sqrt(inv.At(1+j, 1+j))
	}
	return nil
}

// Contributions are each feature's share of row's log-odds:
// coefficient × standardised value, in feature order.
func (m *Model) Contributions(row []float64) []float64 {
	c := make([]float64, len(m.Coef))
	for j, v := range row {
		c[j] = m.Coef[j] * (v - m.Mean[j]) / m.Scale[j]
	}
	return c
}

// Predict is the churn probability of row.
func (m *Model) Predict(row []float64) float64 {
	eta := m.Intercept
	for j, v := range row {
		eta += m.Coef[j] * (v - m.Mean[j]) / m.Scale[j]
	}
	return sigmoid(eta)
}

// Reason is one feature's contribution to an account's risk.
type Reason struct {
	Feature      string  `json:"feature"`
	Value        float64 `json:"value"`
	Contribution float64 `json:"contribution"`
}

// Reasons are the k features that raise row's risk most (positive
// contributions, largest first): what makes this account riskier than the
// average one.
func (m *Model) Reasons(row []float64, k int) []Reason {
	c := m.Contributions(row)
	var rs []Reason
	for j, v := range c {
		if v > 0 {
			rs = append(rs, Reason{Feature: m.Features[j], Value: row[j], Contribution: v})
		}
	}
	sort.SliceStable(rs, func(a, b int) bool { return rs[a].Contribution > rs[b].Contribution })
	if len(rs) > k {
		rs = rs[:k]
	}
	return rs
}

// Driver is one feature's effect on churn in the fitted model.
type Driver struct {
	Feature string `json:"feature"`
	// Coefficient is the change in log-odds per standard deviation of the
	// feature; CILow/CIHigh its 95 % Wald interval.
	Coefficient float64 `json:"coefficient"`
	StdErr      float64 `json:"std_error"`
	Z           float64 `json:"z"`
	CILow       float64 `json:"ci_low"`
	CIHigh      float64 `json:"ci_high"`
	// OddsRatio is exp(Coefficient): the odds multiplier per standard
	// deviation; OddsRatioLow/High the interval's ends exponentiated.
	OddsRatio     float64 `json:"odds_ratio"`
	OddsRatioLow  float64 `json:"odds_ratio_low"`
	OddsRatioHigh float64 `json:"odds_ratio_high"`
}

// Drivers are the features ranked by |coefficient|: the change in log-odds
// per standard deviation, i.e. how much the feature moves risk. (|z| would
// rank the evidence instead, which punishes features that share their signal
// with correlated ones: Telco's fiber optic with monthly charges.) Each
// driver carries its z and interval so a caller can discard weak ones.
func (m *Model) Drivers() []Driver {
	ds := make([]Driver, len(m.Coef))
	for j, b := range m.Coef {
		se := m.StdErr[j]
		ds[j] = Driver{Feature: m.Features[j], Coefficient: b, StdErr: se, Z: b / se,
			CILow: b - Z95*se, CIHigh: b + Z95*se, OddsRatio: math.Exp(b),
			OddsRatioLow: math.Exp(b - Z95*se), OddsRatioHigh: math.Exp(b + Z95*se)}
	}
	sort.SliceStable(ds, func(a, b int) bool { return math.Abs(ds[a].Coefficient) > math.Abs(ds[b].Coefficient) })
	return ds
}
