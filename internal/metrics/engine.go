package metrics

import (
	"cmp"
	"slices"
)

// span is one subscription period reduced to what the engine needs: the
// unit it belongs to (an account, or an account × breakdown value), the
// buckets whose end instant it covers, and its MRR in minor units of its
// currency.
type span struct {
	unit    int32
	first   int32 // first bucket whose end instant the period covers
	last    int32 // last such bucket (inclusive); to when the period is open
	cur     uint16
	product uint16
	value   uint16 // the breakdown value, while loading
	plan    uint16
	mrr     int64
}

// input is everything [compute] reads. Bucket numbers in spans are absolute
// (see Interval.bucketOf); rates are indexed from base.
type input struct {
	interval Interval
	lo, to   int // the buckets to aggregate (lo ≤ from, so look-backs have data)
	base     int // the first bucket rates cover: ≤ every span's first
	spans    []span
	group    []int // group of each unit (index into groups)
	groups   int
	// rate[cur][i-base] turns minor units of currency cur into minor units
	// of the reporting currency at the end of bucket i.
	rate     [][]float64
	products int // distinct products (for cross-sell)
}

// agg are the sums of one group over one bucket, in minor units of the
// reporting currency.
type agg struct {
	mrr                                                 float64
	customers                                           int
	newMRR, expansion, contraction, churned, reactivate float64
	newN, expansionN, contractionN, churnedN, reactN    int
	crossSell                                           int
	nrrBase, nrrNow, grrNow                             float64
}

// compute folds every unit's bucket-end MRR series into per-group sums:
// out[g][i-lo] for buckets lo..to.
func compute(in input) [][]agg {
	out := make([][]agg, in.groups)
	for g := range out {
		out[g] = make([]agg, in.to-in.lo+1)
	}
	yb := in.interval.yearBack()
	words := (in.products + 63) / 64
	eachSeries(in, true, func(unit int32, first int, series []float64, held []uint64) {
		fold(out[in.group[unit]], series, held, words, first, in.lo, yb)
	})
	return out
}

// eachSeries calls fn with each unit's MRR at the end of every bucket from
// its first period's bucket to in.to (minor units of the reporting currency,
// never negative) and, with products, the products it held at each bucket end
// (a bitset of words per bucket). The slices are reused between calls.
func eachSeries(in input, products bool, fn func(unit int32, first int, series []float64, held []uint64)) {
	spans := in.spans
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.unit, b.unit) })
	words := 0
	if products {
		words = (in.products + 63) / 64
	}
	var series []float64
	var held []uint64
	for len(spans) > 0 {
		n := 1
		for n < len(spans) && spans[n].unit == spans[0].unit {
			n++
		}
		us := spans[:n]
		spans = spans[n:]
		first := int(us[0].first)
		for _, s := range us[1:] {
			first = min(first, int(s.first))
		}
		if first > in.to {
			continue
		}
		length := in.to - first + 1
		series = resize(series, length)
		if words > 0 {
			held = resizeWords(held, length*words)
		}
		for _, s := range us {
			end := min(int(s.last), in.to)
			rates := in.rate[s.cur]
			for i := int(s.first); i <= end; i++ {
				series[i-first] += float64(s.mrr) * rates[i-in.base]
				if words > 0 && s.mrr > 0 {
					held[(i-first)*words+int(s.product)/64] |= 1 << (uint(s.product) % 64)
				}
			}
		}
		// An account's MRR is never negative: a discount larger than the
		// price leaves it at zero.
		for i, v := range series {
			series[i] = max(v, 0)
		}
		fn(us[0].unit, first, series, held)
	}
}

// fold adds one unit's series (bucket-end MRR from bucket first on) to sums,
// which covers buckets lo on.
func fold(sums []agg, series []float64, held []uint64, words, first, lo, yb int) {
	ever := false // an earlier bucket end had MRR > 0
	var p float64
	for k, c := range series {
		i := first + k
		if i >= lo {
			a := &sums[i-lo]
			a.mrr += c
			switch {
			case p == 0 && c > 0 && !ever:
				a.newMRR += c
				a.newN++
			case p == 0 && c > 0:
				a.reactivate += c
				a.reactN++
			case p > 0 && c > p:
				a.expansion += c - p
				a.expansionN++
			case p > 0 && c == 0:
				a.churned += p
				a.churnedN++
			case p > 0 && c < p:
				a.contraction += p - c
				a.contractionN++
			}
			if c > 0 {
				a.customers++
			}
			if words > 0 && p > 0 && c > 0 && k > 0 {
				now, before := held[k*words:(k+1)*words], held[(k-1)*words:k*words]
				for w := range now {
					if now[w]&^before[w] != 0 {
						a.crossSell++
						break
					}
				}
			}
			if j := k - yb; j >= 0 && series[j] > 0 {
				b := series[j]
				a.nrrBase += b
				a.nrrNow += c
				a.grrNow += min(c, b)
			}
		}
		if c > 0 {
			ever = true
		}
		p = c
	}
}

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func resizeWords(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	s = s[:n]
	clear(s)
	return s
}
