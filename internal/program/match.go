package program

import (
	"math"
	"slices"
)

// Unit is an account with its covariates for matching.
type Unit struct {
	ID string
	// Key is matched exactly: a treated unit only pairs with a pool unit
	// of the same key.
	Key string
	X   []float64
}

// Match pairs each treated unit with the nearest pool unit of the same
// Key, one to one and without replacement: covariates are standardised by their standard
// deviation over treated and pool together (a covariate with no spread is
// ignored), the distance is Euclidean, and treated units choose in id order
// (greedy), ties going to the smaller pool id. It returns treated id →
// pool id; treated units left without a partner (the pool ran out of
// their key) are absent.
func Match(treated, pool []Unit) map[string]string {
	out := map[string]string{}
	if len(treated) == 0 || len(pool) == 0 {
		return out
	}
	k := len(treated[0].X)
	scale := make([]float64, k)
	for j := range k {
		var col []float64
		for _, u := range treated {
			col = append(col, u.X[j])
		}
		for _, u := range pool {
			col = append(col, u.X[j])
		}
		if sd := math.Sqrt(variance(col)); sd > 0 {
			scale[j] = 1 / sd
		}
	}
	t := slices.Clone(treated)
	slices.SortFunc(t, func(a, b Unit) int { return compareIDs(a.ID, b.ID) })
	p := slices.Clone(pool)
	slices.SortFunc(p, func(a, b Unit) int { return compareIDs(a.ID, b.ID) })
	used := make([]bool, len(p))
	for _, u := range t {
		best, bestD := -1, math.Inf(1)
		for i, c := range p {
			if used[i] || c.Key != u.Key {
				continue
			}
			d := 0.0
			for j := range k {
				x := (u.X[j] - c.X[j]) * scale[j]
				d += x * x
			}
			if d < bestD {
				best, bestD = i, d
			}
		}
		if best < 0 {
			continue
		}
		used[best] = true
		out[u.ID] = p[best].ID
	}
	return out
}

func compareIDs(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
