package clv

import (
	"fmt"
	"math"
)

// Hyp2F1 is the Gaussian hypergeometric function 2F1(a, b; c; z) for real
// 0 <= z < 1, the range the BG/NBD expectations need. Up to z = 0.9 it sums
// the power series directly; closer to 1 the series converges too slowly, so
// it uses the linear transformation z -> 1-z (Abramowitz & Stegun 15.3.6),
// whose two series converge fast there. That transformation has a pole when
// c-a-b is an integer; there the result is the mean of the transformation at
// c±1e-4, which is accurate to about 1e-7 relative since 2F1 is smooth in c.
func Hyp2F1(a, b, c, z float64) (float64, error) {
	if z < 0 || z >= 1 || math.IsNaN(z) {
		return 0, fmt.Errorf("hyp2f1: z = %v outside [0, 1)", z)
	}
	if z <= 0.9 {
		return hypSeries(a, b, c, z)
	}
	d := c - a - b
	if math.Abs(d-math.Round(d)) < 1e-4 {
		lo, err := hypNear1(a, b, c-1e-4, z)
		if err != nil {
			return 0, err
		}
		hi, err := hypNear1(a, b, c+1e-4, z)
		if err != nil {
			return 0, err
		}
		return (lo + hi) / 2, nil
	}
	return hypNear1(a, b, c, z)
}

// hypSeries sums sum_n (a)_n (b)_n / ((c)_n n!) z^n until a term no longer
// changes the sum in the 16th digit.
func hypSeries(a, b, c, z float64) (float64, error) {
	sum, term := 1.0, 1.0
	for n := 0; n < 1_000_000; n++ {
		fn := float64(n)
		term *= (a + fn) * (b + fn) / ((c + fn) * (fn + 1)) * z
		sum += term
		if term == 0 || math.Abs(term) < 1e-16*math.Abs(sum) {
			return sum, nil
		}
	}
	return 0, fmt.Errorf("hyp2f1(%v, %v; %v; %v): series did not converge", a, b, c, z)
}

// hypNear1 is A&S 15.3.6:
//
//	2F1(a,b;c;z) = Γ(c)Γ(c-a-b)/(Γ(c-a)Γ(c-b)) 2F1(a,b;a+b-c+1;1-z)
//	             + (1-z)^(c-a-b) Γ(c)Γ(a+b-c)/(Γ(a)Γ(b)) 2F1(c-a,c-b;c-a-b+1;1-z)
//
// with the gamma ratios taken in log space (with signs) because c grows with
// a customer's purchase count and Γ(c) alone overflows past c ≈ 171.
func hypNear1(a, b, c, z float64) (float64, error) {
	w := 1 - z
	d := c - a - b
	f1, err := hypSeries(a, b, 1-d, w)
	if err != nil {
		return 0, err
	}
	f2, err := hypSeries(c-a, c-b, 1+d, w)
	if err != nil {
		return 0, err
	}
	g1, s1 := gammaRatio([]float64{c, d}, []float64{c - a, c - b})
	g2, s2 := gammaRatio([]float64{c, -d}, []float64{a, b})
	return s1*math.Exp(g1)*f1 + s2*math.Exp(g2+d*math.Log(w))*f2, nil
}

// gammaRatio returns log|∏Γ(num)/∏Γ(den)| and its sign. A pole in the
// denominator (a non-positive integer) makes the ratio 0.
func gammaRatio(num, den []float64) (float64, float64) {
	l, s := 0.0, 1.0
	for _, x := range num {
		v, sg := math.Lgamma(x)
		l += v
		s *= float64(sg)
	}
	for _, x := range den {
		if x <= 0 && x == math.Trunc(x) {
			return math.Inf(-1), 0
		}
		v, sg := math.Lgamma(x)
		l -= v
		s *= float64(sg)
	}
	return l, s
}
