package clv

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// BGNBD holds the four parameters of the BG/NBD model (Fader, Hardie & Lee
// 2005): purchase rates λ ~ Gamma(R, Alpha) (Alpha is a rate, in the unit of
// the summary's times), and after each repeat purchase a customer drops out
// with probability p ~ Beta(A, B).
type BGNBD struct {
	R, Alpha, A, B float64
}

// BGNBDFit is a fitted BG/NBD model with what the fit reports.
type BGNBDFit struct {
	BGNBD
	// LogLikelihood is the total (not mean) log-likelihood of the data.
	LogLikelihood float64
	Customers     int
	// Iterations are those of the last optimiser run (BFGS, or the Newton
	// steps after a warm start); Evaluations count every likelihood
	// evaluation, on the warm-start sample too.
	Iterations  int
	Evaluations int
	Duration    time.Duration
}

// bgData is the summary arranged for the likelihood: times divided by scale
// so that the start point (all parameters 1) is sensible in any unit, and the
// terms that depend only on x gathered per distinct x.
type bgData struct {
	x, tx, T []float64
	w        []float64 // how many customers share the (x, t_x, T) triple
	xs       []float64 // distinct x values
	nx       []float64 // how many customers have each
	scale    float64
	sumX     float64
}

func newBGData(cs []Customer) (*bgData, error) {
	if len(cs) == 0 {
		return nil, errors.New("fit bg/nbd: no customers")
	}
	d := &bgData{}
	var sumT float64
	count := map[int]int{}
	for i, c := range cs {
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("fit bg/nbd: customer %d (%s): %w", i, c.ID, err)
		}
		sumT += c.T
		count[c.X]++
		d.sumX += float64(c.X)
	}
	d.scale = sumT / float64(len(cs))
	if d.scale <= 0 {
		return nil, errors.New("fit bg/nbd: every customer has age T = 0")
	}
	// Customers with the same history share one likelihood term: in a
	// cohort summary most non-repeaters differ only by their first day. The
	// map costs more than it saves when histories are nearly all distinct
	// (continuous times), so a sample decides.
	type key struct {
		x     int
		tx, T float64
	}
	step := max(1, len(cs)/5000)
	seen := map[key]bool{}
	sampled := 0
	for i := 0; i < len(cs); i += step {
		seen[key{cs[i].X, cs[i].Tx, cs[i].T}] = true
		sampled++
	}
	if len(seen) > sampled*9/10 && len(cs) > 5000 {
		d.x, d.tx, d.T, d.w = make([]float64, len(cs)), make([]float64, len(cs)), make([]float64, len(cs)), make([]float64, len(cs))
		for i, c := range cs {
			d.x[i], d.tx[i], d.T[i], d.w[i] = float64(c.X), c.Tx/d.scale, c.T/d.scale, 1
		}
	} else {
		at := make(map[key]int, len(seen)*step)
		for _, c := range cs {
			k := key{c.X, c.Tx, c.T}
			if i, ok := at[k]; ok {
				d.w[i]++
				continue
			}
			at[k] = len(d.x)
			d.x, d.tx, d.T, d.w = append(d.x, float64(c.X)), append(d.tx, c.Tx/d.scale), append(d.T, c.T/d.scale), append(d.w, 1)
		}
	}
	// In x order, so that the sums (and so the fit) are the same bit for bit
	// on every run.
	keys := make([]int, 0, len(count))
	for x := range count {
		keys = append(keys, x)
	}
	sort.Ints(keys)
	for _, x := range keys {
		d.xs = append(d.xs, float64(x))
		d.nx = append(d.nx, float64(count[x]))
	}
	return d, nil
}

// logLik returns the log-likelihood at (r, α, a, b) on the scaled times and
// its gradient with respect to (r, α, a, b). Per customer, with
// A1 = lnΓ(r+x) − lnΓ(r) + r ln α, A2 = ln B(a, b+x) − ln B(a, b),
// A3 = −(r+x) ln(α+T) and A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x):
//
//	ll = A1 + A2 + ln(e^A3 + [x>0] e^A4)
//
// The sum of exponentials is taken by log-sum-exp so that customers with
// many purchases, whose terms underflow separately, stay finite.
func (d *bgData) logLik(p [4]float64, grad *[4]float64) float64 {
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	var ll float64
	var g [4]float64
	lgr, _ := math.Lgamma(r)
	lgab, _ := math.Lgamma(a + b)
	lgb, _ := math.Lgamma(b)
	psir, psiab, psib := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	la := math.Log(alpha)
	for i, x := range d.xs {
		n := d.nx[i]
		l1, _ := math.Lgamma(r + x)
		l2, _ := math.Lgamma(b + x)
		l3, _ := math.Lgamma(a + b + x)
		ll += n * (l1 - lgr + r*la + lgab + l2 - lgb - l3)
		psiabx := mathext.Digamma(a + b + x)
		g[0] += n * (mathext.Digamma(r+x) - psir + la)
		g[1] += n * r / alpha
		g[2] += n * (psiab - psiabx)
		g[3] += n * (psiab + mathext.Digamma(b+x) - psib - psiabx)
	}
	// The per-customer part is split over the cores: it is the whole cost
	// for a large summary.
	workers := runtime.GOMAXPROCS(0)
	if len(d.x) < 20000 {
		workers = 1
	}
	type part struct {
		ll float64
		g  [4]float64
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	chunk := (len(d.x) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(d.x))
		wg.Add(1)
		go func(pt *part, lo, hi int) {
			defer wg.Done()
			lna := math.Log(a)
			var s, gr, gal, ga, gb float64
			for i := lo; i < hi; i++ {
				x, wt := d.x[i], d.w[i]
				aT := alpha + d.T[i]
				lT := math.Log(aT)
				a3 := -(r + x) * lT
				if x == 0 {
					s += wt * a3
					gr -= wt * lT
					gal -= wt * r / aT
					continue
				}
				atx := alpha + d.tx[i]
				ltx := math.Log(atx)
				bx := b + x - 1
				a4 := lna - math.Log(bx) - (r+x)*ltx
				var lse, w3 float64
				if dd := a3 - a4; dd > 0 {
					e := math.Exp(-dd)
					lse, w3 = a3+math.Log1p(e), 1/(1+e)
				} else {
					e := math.Exp(dd)
					lse, w3 = a4+math.Log1p(e), e/(1+e)
				}
				w4 := 1 - w3
				s += wt * lse
				gr -= wt * (w3*lT + w4*ltx)
				gal -= wt * (r + x) * (w3/aT + w4/atx)
				ga += wt * w4 / a
				gb -= wt * w4 / bx
			}
			pt.ll, pt.g = s, [4]float64{gr, gal, ga, gb}
		}(&parts[w], lo, hi)
	}
	wg.Wait()
	for _, pt := range parts {
		ll += pt.ll
		for k := range g {
			g[k] += pt.g[k]
		}
	}
	if grad != nil {
		*grad = g
	}
	return ll
}

// FitBGNBD fits the BG/NBD model to the customers by maximum likelihood. The
// parameters are optimised as logarithms, so they stay positive without
// bounds, with BFGS on the analytic gradient of the mean negative
// log-likelihood. Times are divided by the mean age during the fit (α scales
// with the time unit, r, a and b do not) and the result is in the summary's unit.
//
// A large summary is first fitted on a systematic sample of about 20,000
// customers; from that optimum, Newton steps with the sample's Hessian (the
// mean log-likelihood's curvature hardly depends on which customers are in
// it) reach the full optimum in a few evaluations of the full data instead
// of BFGS's few dozen. BFGS takes over if a step fails to descend.
func FitBGNBD(cs []Customer) (BGNBDFit, error) {
	start := time.Now()
	d, err := newBGData(cs)
	if err != nil {
		return BGNBDFit{}, err
	}
	n := float64(len(cs))
	theta := []float64{0, 0, 0, 0}
	var evals, iters int
	var x []float64
	var fx float64
	if k := len(cs) / warmSample; k >= 2 {
		sub := make([]Customer, 0, len(cs)/k+1)
		for i := 0; i < len(cs); i += k {
			sub = append(sub, cs[i])
		}
		if sd, err := newBGData(sub); err == nil {
			if res, e, err := sd.minimize(float64(len(sub)), theta); err == nil {
				evals += e
				theta = append([]float64(nil), res.X...)
				hess := sd.hessian(float64(len(sub)), res.X)
				theta[1] += math.Log(sd.scale / d.scale) // α in the full data's scale
				var e2 int
				x, fx, iters, e2 = d.newton(n, theta, hess)
				evals += e2
			}
		}
	}
	if x == nil {
		res, e, err := d.minimize(n, theta)
		evals += e
		if err != nil {
			return BGNBDFit{}, err
		}
		x, fx, iters = res.X, res.F, res.Stats.MajorIterations
	}
	f := BGNBDFit{Customers: len(cs), Iterations: iters, Evaluations: evals}
	f.R, f.Alpha, f.A, f.B = math.Exp(x[0]), math.Exp(x[1])*d.scale, math.Exp(x[2]), math.Exp(x[3])
	// Rescaling time by s multiplies each customer's likelihood by s^-x.
	f.LogLikelihood = -fx*n - d.sumX*math.Log(d.scale)
	f.Duration = time.Since(start)
	return f, nil
}

// objective is the mean negative log-likelihood of the n customers at
// θ = ln(r, α/scale, a, b) and its gradient in θ.
func (d *bgData) objective(n float64, th []float64) (float64, [4]float64) {
	var q [4]float64
	for k := range q {
		q[k] = math.Exp(th[k])
	}
	var g [4]float64
	ll := d.logLik(q, &g)
	f := -ll / n
	for k := range g {
		g[k] = -g[k] * q[k] / n // chain rule for θ = ln(parameter)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = math.Inf(1)
	}
	return f, g
}

// hessian of the objective at th, by central differences of the analytic gradient.
func (d *bgData) hessian(n float64, th []float64) *mat.SymDense {
	const h = 1e-5
	h2 := mat.NewSymDense(4, nil)
	var cols [4][4]float64
	for j := range 4 {
		p, m := append([]float64(nil), th...), append([]float64(nil), th...)
		p[j] += h
		m[j] -= h
		_, gp := d.objective(n, p)
		_, gm := d.objective(n, m)
		for i := range 4 {
			cols[j][i] = (gp[i] - gm[i]) / (2 * h)
		}
	}
	for i := range 4 {
		for j := i; j < 4; j++ {
			h2.SetSym(i, j, (cols[i][j]+cols[j][i])/2)
		}
	}
	return h2
}

// newton iterates θ ← θ − H⁻¹∇f with the fixed Hessian hess until the
// gradient is below 1e-9, and returns nil if hess is not positive definite or
// a step (halved up to 5 times) does not descend, so the caller falls back to BFGS.
func (d *bgData) newton(n float64, theta []float64, hess *mat.SymDense) ([]float64, float64, int, int) {
	var chol mat.Cholesky
	if !chol.Factorize(hess) {
		return nil, 0, 0, 0
	}
	th := append([]float64(nil), theta...)
	f, g := d.objective(n, th)
	evals := 1
	for it := 1; it <= 30; it++ {
		gn := 0.0
		for _, v := range g {
			gn = math.Max(gn, math.Abs(v))
		}
		if gn < 1e-9 {
			return th, f, it - 1, evals
		}
		var step mat.VecDense
		if err := chol.SolveVecTo(&step, mat.NewVecDense(4, g[:])); err != nil {
			return nil, 0, 0, evals
		}
		ok := false
		for t := 1.0; t > 1.0/64; t /= 2 {
			next := make([]float64, 4)
			for k := range next {
				next[k] = th[k] - t*step.AtVec(k)
			}
			fn, gnext := d.objective(n, next)
			evals++
			if fn <= f+1e-15*math.Abs(f) {
				th, f, g, ok = next, fn, gnext, true
				break
			}
		}
		if !ok {
			return nil, 0, 0, evals
		}
	}
	return nil, 0, 0, evals
}

// warmSample is the size of the sample a large summary is first fitted on.
const warmSample = 20000

// minimize runs BFGS on the mean negative log-likelihood of the n customers
// over θ = ln(r, α/scale, a, b) from theta, and returns the result and the
// number of likelihood evaluations.
func (d *bgData) minimize(n float64, theta []float64) (*optimize.Result, int, error) {
	// One evaluation gives both value and gradient; BFGS asks for them
	// separately at the same point, so the last one is kept.
	var lastX [4]float64
	var lastF float64
	var lastG [4]float64
	have, evals := false, 0
	eval := func(th []float64) (float64, [4]float64) {
		var p [4]float64
		copy(p[:], th)
		if have && p == lastX {
			return lastF, lastG
		}
		evals++
		f, g := d.objective(n, th)
		lastX, lastF, lastG, have = p, f, g, true
		return f, g
	}
	prob := optimize.Problem{
		Func: func(th []float64) float64 { f, _ := eval(th); return f },
		Grad: func(grad, th []float64) { _, g := eval(th); copy(grad, g[:]) },
	}
	settings := &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: 2000}
	res, err := optimize.Minimize(prob, theta, settings, &optimize.BFGS{})
	if err != nil && res == nil {
		return nil, evals, fmt.Errorf("fit bg/nbd: %w", err)
	}
	if err != nil && res.Status != optimize.GradientThreshold {
		// BFGS stops with a line-search failure when it is at the optimum to
		// machine precision, or when the likelihood is flat because the optimum
		// is at a boundary (a, b → ∞ with a/(a+b) fixed: everyone has the same
		// dropout probability); the predictions are then those of the limit, so
		// a small gradient (of the mean log-likelihood) is accepted.
		var gn float64
		for _, g := range res.Gradient {
			gn = math.Max(gn, math.Abs(g))
		}
		if gn > 1e-4 {
			return nil, evals, fmt.Errorf("fit bg/nbd: optimiser stopped (%v) at ln(r, α/scale, a, b) = %.3g with gradient %.3g: %w", res.Status, res.X, gn, err)
		}
	}
	return res, evals, nil
}

// LogLikelihood is the total log-likelihood of the customers under m.
func (m BGNBD) LogLikelihood(cs []Customer) (float64, error) {
	d, err := newBGData(cs)
	if err != nil {
		return 0, err
	}
	return d.logLik([4]float64{m.R, m.Alpha / d.scale, m.A, m.B}, nil) - d.sumX*math.Log(d.scale), nil
}

// ExpectedPurchases is E[X(t)], the expected number of repeat purchases in
// (0, t] of a customer picked at random at their first purchase (FHL 2005 eq. 9):
//
//	(a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))]
//
// which is the conditional expectation of a customer with x = 0 and T = 0.
func (m BGNBD) ExpectedPurchases(t float64) (float64, error) {
	e, err := m.expectedFuture(0, 0, t)
	if err != nil {
		return 0, fmt.Errorf("expected purchases at t=%v: %w", t, err)
	}
	return e, nil
}

// expectedFuture is the numerator of the conditional expectation,
//
//	(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z)],  z = t/(α+T+t),
//
// computed after Euler's transformation 2F1(A,B;C;z) = (1−z)^(C−A−B) 2F1(C−A, C−B; C; z):
// the bracket becomes 1 − (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z). For a
// customer with hundreds of purchases the original 2F1 overflows (it grows
// like (1−z)^−(r+x)) while the power underflows; the transformed one has
// small upper parameters and a large lower one, so it stays near 1.
func (m BGNBD) expectedFuture(x, T, t float64) (float64, error) {
	if t < 0 || math.IsNaN(t) {
		return 0, fmt.Errorf("negative time %v", t)
	}
	aT := m.Alpha + T
	z := t / (aT + t)
	h, err := Hyp2F1(m.A+m.B-1-m.R, m.A-1, m.A+m.B+x-1, z)
	if err != nil {
		return 0, err
	}
	return (m.A + m.B + x - 1) / (m.A - 1) * (1 - math.Exp((m.A-1)*(math.Log(aT)-math.Log(aT+t)))*h), nil
}

// aliveOdds is [x>0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), the odds of having
// dropped out after the last purchase against being alive.
func (m BGNBD) aliveOdds(c Customer) float64 {
	if c.X == 0 {
		return 0
	}
	x := float64(c.X)
	return m.A / (m.B + x - 1) * math.Exp((m.R+x)*(math.Log(m.Alpha+c.T)-math.Log(m.Alpha+c.Tx)))
}

// PAlive is the probability that the customer is still active at T (FHL 2005
// eq. 11); exactly 1 for a customer with no repeat purchase, since in BG/NBD
// dropout happens only right after a repeat purchase.
func (m BGNBD) PAlive(c Customer) float64 {
	return 1 / (1 + m.aliveOdds(c))
}

// ConditionalExpected is E[Y(t) | x, t_x, T], the expected number of
// purchases in (T, T+t] of a customer with that history (FHL 2005 eq. 10):
//
//	(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))]
//	/ (1 + [x>0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
func (m BGNBD) ConditionalExpected(c Customer, t float64) (float64, error) {
	num, err := m.expectedFuture(float64(c.X), c.T, t)
	if err != nil {
		return 0, fmt.Errorf("conditional expectation of %s at t=%v: %w", c.ID, t, err)
	}
	return num / (1 + m.aliveOdds(c)), nil
}

// ProbPurchases is P(X(t) = n), the probability that a new customer makes
// exactly n repeat purchases in (0, t] (FHL 2005 eq. 8):
//
//	B(a, b+n)/B(a, b) · Γ(r+n)/(Γ(r) n!) · (α/(α+t))^r (t/(α+t))^n
//	+ [n>0] · B(a+1, b+n−1)/B(a, b) · [1 − (α/(α+t))^r Σ_{j<n} Γ(r+j)/(Γ(r) j!) (t/(α+t))^j]
func (m BGNBD) ProbPurchases(t float64, n int) float64 {
	r, a, b := m.R, m.A, m.B
	nf := float64(n)
	lp := math.Log(m.Alpha / (m.Alpha + t))
	lq := math.Log(t / (m.Alpha + t))
	lnb := func(x, y float64) float64 {
		gx, _ := math.Lgamma(x)
		gy, _ := math.Lgamma(y)
		gxy, _ := math.Lgamma(x + y)
		return gx + gy - gxy
	}
	// lnNB(j) = ln[Γ(r+j)/(Γ(r) j!)] + r ln p + j ln q, the NBD probability of j.
	lnNB := func(j float64) float64 {
		g1, _ := math.Lgamma(r + j)
		g2, _ := math.Lgamma(r)
		g3, _ := math.Lgamma(j + 1)
		return g1 - g2 - g3 + r*lp + j*lq
	}
	p := math.Exp(lnb(a, b+nf) - lnb(a, b) + lnNB(nf))
	if n > 0 {
		var cdf float64
		for j := 0; j < n; j++ {
			cdf += math.Exp(lnNB(float64(j)))
		}
		p += math.Exp(lnb(a+1, b+nf-1)-lnb(a, b)) * (1 - cdf)
	}
	return p
}
