package churn

import (
	"fmt"
	"math"
	"sort"
)

// Example is one training row before encoding: numeric features (booleans
// as 0/1), categorical ones, and the label.
type Example struct {
	Numeric  map[string]float64
	Category map[string]string
	Churned  bool
}

// Missing is the level of a categorical feature a row does not have.
const Missing = "(none)"

// Encoding says how examples became columns.
type Encoding struct {
	// Baselines are the dropped level of each categorical feature: the
	// level with the lowest churn rate, so the other levels' coefficients
	// read as extra risk over the safest choice. Dropping one level per
	// categorical spans the same space as the full one-hot with the
	// intercept, so the fit is the same; without it the levels are
	// collinear with the intercept and their intervals meaningless.
	Baselines map[string]string `json:"baselines"`
	// Collinear are columns dropped because they are a linear combination
	// of the kept ones and the intercept (in Telco, onlinesecurity=no +
	// onlinesecurity=yes is internetservice=dsl + internetservice=fiber_optic):
	// their coefficients would not be identified.
	Collinear []string `json:"collinear"`
	// Constant are columns dropped because every row has the same value.
	Constant []string `json:"constant"`
}

// Encode turns examples into a design matrix (filling in Missing levels in
// the examples' Category maps): numeric features as they are (0 when a row
// lacks one), each categorical one-hot as name=level without its baseline level,
// columns sorted by name, constant and collinear columns dropped.
func Encode(examples []Example) (Data, Encoding, error) {
	enc := Encoding{Baselines: map[string]string{}}
	numeric := map[string]bool{}
	type count struct{ n, churned int }
	levels := map[string]map[string]*count{}
	// A categorical a row lacks (an attribute not set on every account) is
	// the level "(none)", not silently the baseline.
	categorical := map[string]bool{}
	for _, ex := range examples {
		for k := range ex.Category {
			categorical[k] = true
		}
	}
	for _, ex := range examples {
		for k := range categorical {
			if _, ok := ex.Category[k]; !ok {
				ex.Category[k] = Missing
			}
		}
	}
	for _, ex := range examples {
		for k, v := range ex.Numeric {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Data{}, enc, fmt.Errorf("encode features: %q is %v", k, v)
			}
			numeric[k] = true
		}
		for k, v := range ex.Category {
			if levels[k] == nil {
				levels[k] = map[string]*count{}
			}
			c := levels[k][v]
			if c == nil {
				c = &count{}
				levels[k][v] = c
			}
			c.n++
			if ex.Churned {
				c.churned++
			}
		}
	}
	var names []string
	for k := range numeric {
		names = append(names, k)
	}
	for k, ls := range levels {
		if _, clash := numeric[k]; clash {
			return Data{}, enc, fmt.Errorf("encode features: %q is both numeric and categorical", k)
		}
		base, rate, n := "", math.Inf(1), 0
		for level, c := range ls {
			r := float64(c.churned) / float64(c.n)
			if r < rate || (r == rate && (c.n > n || (c.n == n && level < base))) {
				base, rate, n = level, r, c.n
			}
		}
		enc.Baselines[k] = base
		for level := range ls {
			if level != base {
				names = append(names, k+"="+level)
			}
		}
	}
	sort.Strings(names)
	col := map[string]int{}
	for i, f := range names {
		col[f] = i
	}
	p := len(names)
	x := make([]float64, len(examples)*p)
	y := make([]bool, len(examples))
	for i, ex := range examples {
		row := x[i*p : (i+1)*p]
		for k, v := range ex.Numeric {
			row[col[k]] = v
		}
		for k, v := range ex.Category {
			if j, ok := col[k+"="+v]; ok {
				row[j] = 1
			}
		}
		y[i] = ex.Churned
	}
	keep := independent(x, y, names, &enc)
	d := Data{Features: make([]string, len(keep)), X: make([]float64, len(examples)*len(keep)), Y: y}
	for n, j := range keep {
		d.Features[n] = names[j]
	}
	for i := range examples {
		for n, j := range keep {
			d.X[i*len(keep)+n] = x[i*p+j]
		}
	}
	return d, enc, nil
}

// independent picks the columns to keep: greedily, strongest correlation
// with the label first, a column is kept when its variance not explained by
// the columns kept before it (a Cholesky step on the covariance matrix) is
// more than 1e-9 of its variance. Strongest first means that of a collinear
// group the most telling columns stay (fiber_optic rather than a service's
// "no" level). The kept columns are returned in name order.
func independent(x []float64, y []bool, names []string, enc *Encoding) []int {
	p := len(names)
	n := len(y)
	if n == 0 {
		return nil
	}
	mean := make([]float64, p)
	var ymean float64
	for i := 0; i < n; i++ {
		for j, v := range x[i*p : (i+1)*p] {
			mean[j] += v
		}
		if y[i] {
			ymean++
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	ymean /= float64(n)
	cov := make([]float64, p*p)
	cy := make([]float64, p)
	z := make([]float64, p)
	for i := 0; i < n; i++ {
		for j, v := range x[i*p : (i+1)*p] {
			z[j] = v - mean[j]
		}
		yc := -ymean
		if y[i] {
			yc++
		}
		for a := 0; a < p; a++ {
			cy[a] += z[a] * yc
			for b := a; b < p; b++ {
				cov[a*p+b] += z[a] * z[b]
			}
		}
	}
	order := make([]int, 0, p)
	for j := 0; j < p; j++ {
		// Relative to the column's scale: a column whose centred values are
		// all (nearly) zero is constant.
		if cov[j*p+j] <= 1e-12*float64(n)*(1+mean[j]*mean[j]) {
			enc.Constant = append(enc.Constant, names[j])
			continue
		}
		order = append(order, j)
	}
	strength := func(j int) float64 { return math.Abs(cy[j]) / math.Sqrt(cov[j*p+j]) }
	sort.SliceStable(order, func(a, b int) bool { return strength(order[a]) > strength(order[b]) })
	c := func(a, b int) float64 {
		if a > b {
			a, b = b, a
		}
		return cov[a*p+b]
	}
	var kept []int
	var l [][]float64 // rows of the Cholesky factor of the kept columns' covariance
	for _, j := range order {
		v := make([]float64, len(kept))
		for r, k := range kept {
			s := c(k, j)
			for q := 0; q < r; q++ {
				s -= l[r][q] * v[q]
			}
			v[r] = s / l[r][r]
		}
		res := c(j, j)
		for _, e := range v {
			res -= e * e
		}
		if res <= 1e-9*c(j, j) {
			enc.Collinear = append(enc.Collinear, names[j])
			continue
		}
		kept = append(kept, j)
		l = append(l, append(v, math.Sqrt(res)))
	}
	sort.Ints(kept)
	sort.Strings(enc.Collinear)
	return kept
}
