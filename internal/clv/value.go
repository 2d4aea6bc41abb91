package clv

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// Value is one customer's lifetime value over a horizon.
type Value struct {
	Customer
	PAlive float64
	// ExpectedPurchases is E[Y(horizon) | x, t_x, T].
	ExpectedPurchases float64
	// ExpectedSpend is E[M | x, zbar] per purchase.
	ExpectedSpend float64
	// CLV is the discounted margin over the horizon.
	CLV float64
}

// Lifetime values the customer over horizon periods of the summary's unit:
//
//	CLV = margin · E[M | x, zbar] · Σ_{k=1..horizon} (E[Y(k) | ·] − E[Y(k−1) | ·]) / (1+discount)^k
//
// that is, the expected purchases in each period (from the conditional
// expectation) times the expected value of a purchase and the gross margin,
// discounted at the end of each period by discount per period.
func Lifetime(bg BGNBD, gg GammaGamma, c Customer, horizon int, discount, margin float64) (Value, error) {
	if horizon < 1 {
		return Value{}, fmt.Errorf("lifetime value: horizon %d is not a positive number of periods", horizon)
	}
	if discount < 0 || math.IsNaN(discount) {
		return Value{}, fmt.Errorf("lifetime value: discount rate %v is negative", discount)
	}
	v := Value{Customer: c, PAlive: bg.PAlive(c), ExpectedSpend: gg.ExpectedSpend(c)}
	var prev, npv float64
	for k := 1; k <= horizon; k++ {
		e, err := bg.ConditionalExpected(c, float64(k))
		if err != nil {
			return Value{}, fmt.Errorf("lifetime value: %w", err)
		}
		npv += (e - prev) / math.Pow(1+discount, float64(k))
		prev = e
	}
	v.ExpectedPurchases = prev
	v.CLV = margin * v.ExpectedSpend * npv
	return v, nil
}

// Simulate draws n customers from the BG/NBD process with parameters m, each
// observed for an age T drawn uniformly from [minT, maxT]: λ ~ Gamma(r, α),
// p ~ Beta(a, b), repeat purchases at Poisson(λ) times, and after each repeat
// purchase the customer drops out with probability p. The same seed gives the
// same customers.
func Simulate(m BGNBD, n int, minT, maxT float64, seed uint64) []Customer {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: src}
	drop := distuv.Beta{Alpha: m.A, Beta: m.B, Src: src}
	out := make([]Customer, n)
	for i := range out {
		l, p := lam.Rand(), drop.Rand()
		T := minT + (maxT-minT)*rng.Float64()
		c := Customer{ID: fmt.Sprintf("s%07d", i), T: T}
		t := 0.0
		for l > 0 {
			t += rng.ExpFloat64() / l
			if t > T {
				break
			}
			c.X++
			c.Tx = t
			if rng.Float64() < p {
				break
			}
		}
		out[i] = c
	}
	return out
}
