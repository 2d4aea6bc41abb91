// Package survival estimates customer lifetime curves with the Kaplan–Meier
// product-limit estimator, Greenwood variances and log-log confidence bands.
//
// Durations are in whatever unit the caller uses (days, months); an
// observation is either an event (the customer churned at Duration) or
// censored (still a customer when last seen, at Duration). At a time with
// both, events are counted before censorings, so customers censored at t are
// still at risk at t: the usual convention (R's survfit, lifelines).
package survival

import (
	"fmt"
	"math"
	"sort"
)

// Z95 is the standard normal quantile of the two-sided 95 % interval.
const Z95 = 1.959963984540054

// Observation is one subject's lifetime.
type Observation struct {
	Duration float64
	Event    bool
	Group    string
}

// Step is the curve just after one distinct event time (not "Point": the
// API documents every type by its bare name, and health has a Point).
type Step struct {
	Time     float64 `json:"time"`
	AtRisk   int     `json:"at_risk"`
	Events   int     `json:"events"`
	Censored int     `json:"censored"`
	Survival float64 `json:"survival"`
	// StdErr is Greenwood's standard error of Survival.
	StdErr float64 `json:"std_err"`
	// Lower and Upper bound the 95 % log-log interval: S^exp(±z·σ) with
	// σ² = Σ d/(n(n−d)) / (log S)², which stays inside (0, 1), unlike the
	// plain S ± z·StdErr.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// Curve is one group's Kaplan–Meier estimate.
type Curve struct {
	Group  string `json:"group"`
	N      int    `json:"n"`
	Events int    `json:"events"`
	Points []Step `json:"points"`
	// Median is the first time with S(t) ≤ 0.5; nil when the curve never
	// gets there. MedianLower/MedianUpper are the first times the lower and
	// upper bands reach 0.5 (nil when they do not): the interval R's
	// survfit reports for the same band.
	Median      *float64 `json:"median"`
	MedianLower *float64 `json:"median_lower"`
	MedianUpper *float64 `json:"median_upper"`
}

// At returns S(t): the estimate at the last event time ≤ t (1 before the
// first event).
func (c Curve) At(t float64) float64 {
	i := sort.Search(len(c.Points), func(i int) bool { return c.Points[i].Time > t })
	if i == 0 {
		return 1
	}
	return c.Points[i-1].Survival
}

// KaplanMeier estimates one curve over all observations, whatever their
// group; the curve's Group is empty. Negative or NaN durations are an error.
func KaplanMeier(obs []Observation) (Curve, error) {
	sorted := make([]Observation, len(obs))
	copy(sorted, obs)
	for i, o := range sorted {
		if math.IsNaN(o.Duration) || math.IsInf(o.Duration, 0) || o.Duration < 0 {
			return Curve{}, fmt.Errorf("kaplan-meier: observation %d: duration %v is not a finite number ≥ 0", i, o.Duration)
		}
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Duration < sorted[j].Duration })
	c := Curve{N: len(sorted), Points: []Step{}}
	s, greenwood := 1.0, 0.0
	atRisk := len(sorted)
	for i := 0; i < len(sorted); {
		t := sorted[i].Duration
		d, cens := 0, 0
		for ; i < len(sorted) && sorted[i].Duration == t; i++ {
			if sorted[i].Event {
				d++
			} else {
				cens++
			}
		}
		if d > 0 {
			s *= 1 - float64(d)/float64(atRisk)
			if atRisk > d {
				greenwood += float64(d) / (float64(atRisk) * float64(atRisk-d))
			} else {
				greenwood = math.Inf(1)
			}
			p := Step{Time: t, AtRisk: atRisk, Events: d, Censored: cens, Survival: s}
			p.StdErr, p.Lower, p.Upper = band(s, greenwood)
			c.Points = append(c.Points, p)
			c.Events += d
		} else if len(c.Points) > 0 {
			// Censorings between event times belong to the previous step's
			// interval; record them there so counts add up to N.
			c.Points[len(c.Points)-1].Censored += cens
		}
		atRisk -= d + cens
	}
	c.Median = firstAtOrBelow(c.Points, func(p Step) float64 { return p.Survival })
	c.MedianLower = firstAtOrBelow(c.Points, func(p Step) float64 { return p.Lower })
	c.MedianUpper = firstAtOrBelow(c.Points, func(p Step) float64 { return p.Upper })
	return c, nil
}

// band is Greenwood's standard error and the 95 % log-log interval.
func band(s, greenwood float64) (se, lo, hi float64) {
	if s <= 0 || math.IsInf(greenwood, 1) {
		return 0, 0, 0
	}
	se = s * math.Sqrt(greenwood)
	if s >= 1 {
		return se, 1, 1
	}
	ls := math.Log(s)
	sigma := math.Sqrt(greenwood) / math.Abs(ls)
	return se, math.Pow(s, math.Exp(Z95*sigma)), math.Pow(s, math.Exp(-Z95*sigma))
}

func firstAtOrBelow(points []Step, f func(Step) float64) *float64 {
	for _, p := range points {
		// A tiny tolerance so that an exact 0.5 reached through a product
		// of fractions (e.g. 1/2 · 1) counts as reached.
		if f(p) <= 0.5+1e-12 {
			t := p.Time
			return &t
		}
	}
	return nil
}

// ByGroup estimates one curve per distinct Group, in group order.
func ByGroup(obs []Observation) ([]Curve, error) {
	groups := map[string][]Observation{}
	for _, o := range obs {
		groups[o.Group] = append(groups[o.Group], o)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	curves := make([]Curve, 0, len(names))
	for _, g := range names {
		c, err := KaplanMeier(groups[g])
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", g, err)
		}
		c.Group = g
		curves = append(curves, c)
	}
	return curves, nil
}
