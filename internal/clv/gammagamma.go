package clv

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// GammaGamma holds the Gamma-Gamma spend model (Fader & Hardie 2013, note
// 025): a customer's purchase values are Gamma(P, ν) with ν ~ Gamma(Q, Gamma)
// across customers, independent of the purchase process.
type GammaGamma struct {
	P, Q, Gamma float64
}

// GammaGammaFit is a fitted Gamma-Gamma model.
type GammaGammaFit struct {
	GammaGamma
	// LogLikelihood is the total log-likelihood of the repeaters' mean values.
	LogLikelihood float64
	// Repeaters is the number of customers the fit used.
	Repeaters int
	Duration  time.Duration
}

// ggLogLik is the log-likelihood of the repeaters' mean values (x, zbar)
// and its gradient in (p, q, γ). Per repeater:
//
//	lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln zbar + px ln x − (px+q) ln(γ + x·zbar)
func ggLogLik(x, z []float64, p, q, g float64, grad *[3]float64) float64 {
	var ll, gp, gq, gg float64
	lgq, _ := math.Lgamma(q)
	psiq := mathext.Digamma(q)
	lng := math.Log(g)
	for i := range x {
		px := p * x[i]
		l1, _ := math.Lgamma(px + q)
		l2, _ := math.Lgamma(px)
		lz, lx := math.Log(z[i]), math.Log(x[i])
		lgxz := math.Log(g + x[i]*z[i])
		ll += l1 - l2 - lgq + q*lng + (px-1)*lz + px*lx - (px+q)*lgxz
		psi := mathext.Digamma(px + q)
		gp += x[i] * (psi - mathext.Digamma(px) + lz + lx - lgxz)
		gq += psi - psiq + lng - lgxz
		gg += q/g - (px+q)/(g+x[i]*z[i])
	}
	if grad != nil {
		*grad = [3]float64{gp, gq, gg}
	}
	return ll
}

// FitGammaGamma fits the spend model to the customers with X > 0 and a
// positive mean repeat value (the others carry no spend information, or none
// a Gamma distribution can describe: zero-value orders) by maximum likelihood over the logarithms of
// p, q and γ, with BFGS on the analytic gradient. The mean values are divided
// by their mean during the fit (γ scales with the currency, p and q do not).
func FitGammaGamma(cs []Customer) (GammaGammaFit, error) {
	start := time.Now()
	var x, z []float64
	var sum float64
	for i, c := range cs {
		if c.X == 0 || c.Zbar <= 0 {
			continue // free orders (or refunds) have no Gamma density
		}
		if math.IsNaN(c.Zbar) || math.IsInf(c.Zbar, 0) {
			return GammaGammaFit{}, fmt.Errorf("fit gamma-gamma: customer %d (%s): mean repeat value %v", i, c.ID, c.Zbar)
		}
		x, z = append(x, float64(c.X)), append(z, c.Zbar)
		sum += c.Zbar
	}
	if len(x) < 2 {
		return GammaGammaFit{}, errors.New("fit gamma-gamma: fewer than 2 customers with a repeat purchase")
	}
	scale := sum / float64(len(x))
	for i := range z {
		z[i] /= scale
	}
	n := float64(len(x))
	prob := optimize.Problem{
		Func: func(th []float64) float64 {
			f := -ggLogLik(x, z, math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), nil) / n
			if math.IsNaN(f) {
				return math.Inf(1)
			}
			return f
		},
		Grad: func(grad, th []float64) {
			var g [3]float64
			ggLogLik(x, z, math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), &g)
			for k := range g {
				grad[k] = -g[k] * math.Exp(th[k]) / n
			}
		},
	}
	res, err := optimize.Minimize(prob, []float64{0, 0, 0}, &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: 2000}, &optimize.BFGS{})
	if err != nil && res == nil {
		return GammaGammaFit{}, fmt.Errorf("fit gamma-gamma: %w", err)
	}
	if err != nil && res.Status != optimize.GradientThreshold {
		var gn float64
		for _, g := range res.Gradient {
			gn = math.Max(gn, math.Abs(g))
		}
		if gn > 1e-4 {
			return GammaGammaFit{}, fmt.Errorf("fit gamma-gamma: optimiser stopped (%v) with gradient %.3g: %w", res.Status, gn, err)
		}
	}
	f := GammaGammaFit{Repeaters: len(x)}
	f.P, f.Q, f.Gamma = math.Exp(res.X[0]), math.Exp(res.X[1]), math.Exp(res.X[2])*scale
	// Each density has dimension 1/value: rescaling zbar by s adds −ln s each.
	f.LogLikelihood = -res.F*n - n*math.Log(scale)
	f.Duration = time.Since(start)
	return f, nil
}

// ExpectedSpend is E[M | x, zbar], the expected value of the customer's
// future purchases: a weighted mean of the population mean pγ/(q−1) and the
// customer's own mean, (γ + x·zbar)·p / (px + q − 1). For q ≤ 1 the population
// mean does not exist and the result is +Inf for a customer without repeats.
func (m GammaGamma) ExpectedSpend(c Customer) float64 {
	x := float64(c.X)
	if c.X == 0 {
		if m.Q <= 1 {
			return math.Inf(1)
		}
		return m.P * m.Gamma / (m.Q - 1)
	}
	return (m.Gamma + x*c.Zbar) * m.P / (m.P*x + m.Q - 1)
}
