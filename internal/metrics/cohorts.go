package metrics

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Cohort is the accounts whose first month-end with MRR > 0 is one month,
// and how many of them (and how much of their MRR) remain each month after.
type Cohort struct {
	Cohort    string   `json:"cohort" doc:"The month of the accounts' first month-end with MRR > 0 (YYYY-MM)."`
	Customers int      `json:"customers" doc:"Accounts in the cohort."`
	MRR       float64  `json:"mrr" doc:"Their MRR at the end of the cohort month."`
	Offsets   []Offset `json:"offsets" doc:"One per month from the cohort month (offset 0) to the table's last month."`
}

// Offset is a cohort n months after its first month.
type Offset struct {
	Offset           int     `json:"offset"`
	Month            string  `json:"month"`
	Customers        int     `json:"customers" doc:"Accounts of the cohort with MRR > 0 at the end of the month."`
	MRR              float64 `json:"mrr" doc:"The cohort's MRR at the end of the month."`
	LogoRetention    float64 `json:"logo_retention" doc:"customers / the cohort's customers."`
	RevenueRetention float64 `json:"revenue_retention" doc:"mrr / the cohort's MRR in its first month."`
}

// CohortTable is cohort retention by first-MRR month.
type CohortTable struct {
	Currency string    `json:"currency"`
	AsOf     time.Time `json:"as_of"`
	Cohorts  []Cohort  `json:"cohorts"`
}

// Cohorts computes the retention of the cohorts of months from..to (any
// instant inside each), followed up to the end of to, as of asOf (nil: now).
func Cohorts(ctx context.Context, q store.Querier, from, to time.Time, asOf *time.Time) (*CohortTable, error) {
	lo, hi := Month.bucketOf(from.Unix()), Month.bucketOf(to.Unix())
	if hi < lo {
		return nil, fmt.Errorf("%w: to %s is before from %s", ErrBadOptions, Month.label(hi), Month.label(lo))
	}
	if hi-lo+1 > 1200 {
		return nil, fmt.Errorf("%w: %d months of cohorts is more than 1200", ErrBadOptions, hi-lo+1)
	}
	in, _, conv, repExp, err := prepare(ctx, q, Month, "", asOf, lo, hi, false)
	if err != nil {
		return nil, err
	}
	n := hi - lo + 1
	type cell struct {
		customers int
		mrr       float64
	}
	cells := make([][]cell, n) // [cohort][offset]
	for k := range cells {
		cells[k] = make([]cell, n-k)
	}
	eachSeries(in, false, func(_ int32, first int, series []float64, _ []uint64) {
		k := -1
		for i, v := range series {
			if v > 0 {
				k = i
				break
			}
		}
		if k < 0 || first+k < lo {
			return
		}
		c := cells[first+k-lo]
		for off := range c {
			if v := series[k+off]; v > 0 {
				c[off].customers++
				c[off].mrr += v
			}
		}
	})
	unit := math.Pow10(repExp)
	t := &CohortTable{Currency: conv.Reporting, AsOf: time.Now().UTC().Truncate(time.Second), Cohorts: []Cohort{}}
	if asOf != nil {
		t.AsOf = asOf.UTC()
	}
	for k, c := range cells {
		if c[0].customers == 0 {
			continue
		}
		co := Cohort{Cohort: Month.label(lo + k), Customers: c[0].customers, MRR: toMajor(c[0].mrr, unit)}
		for off, x := range c {
			co.Offsets = append(co.Offsets, Offset{Offset: off, Month: Month.label(lo + k + off), Customers: x.customers,
				MRR: toMajor(x.mrr, unit), LogoRetention: float64(x.customers) / float64(c[0].customers),
				RevenueRetention: x.mrr / c[0].mrr})
		}
		t.Cohorts = append(t.Cohorts, co)
	}
	return t, nil
}
