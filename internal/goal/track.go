package goal

import (
	"math"
	"time"
)

// Statuses of a goal.
const (
	// StatusAchieved: the latest month-end actual meets the target (after
	// the deadline: the deadline month's, or the last one before it).
	StatusAchieved = "achieved"
	// StatusOnTrack: not met yet, but the trend meets it by the deadline.
	StatusOnTrack = "on_track"
	// StatusAtRisk: the trend misses the target at the deadline by no more
	// than AtRiskShare of the distance from the baseline to the target.
	StatusAtRisk = "at_risk"
	// StatusOffTrack: the trend misses the target by more than that.
	StatusOffTrack = "off_track"
	// StatusMissed: the deadline month is over and the target was not met.
	StatusMissed = "missed"
	// StatusStale: not met, and the last StaleMonths complete months have
	// no actual (a survey not sent, data not imported): the trend would
	// be a judgement on old figures.
	StatusStale = "stale"
	// StatusNoData: no month-end actual yet, or one that does not meet the
	// target and is too little for a trend.
	StatusNoData = "no_data"
)

// Statuses lists the statuses, best first.
var Statuses = []string{StatusAchieved, StatusOnTrack, StatusAtRisk, StatusOffTrack, StatusMissed, StatusStale, StatusNoData}

// The forecast's parameters.
const (
	// TrendPoints is how many of the latest month-end actuals the trend is
	// fitted to (fewer when fewer exist; at least MinTrendPoints).
	TrendPoints    = 6
	MinTrendPoints = 2
	// AtRiskShare is the shortfall, as a share of |target − baseline|,
	// up to which a forecast that misses the target is at_risk rather
	// than off_track.
	AtRiskShare = 0.1
	// StaleMonths is how many complete months without an actual make a
	// goal that is not met stale.
	StaleMonths = 2
)

// MonthValue is one month-end actual; Value is null where the metric is
// (a rate with no denominator, a month without survey answers).
type MonthValue struct {
	Month string   `json:"month" doc:"YYYY-MM: the value at the end of this month."`
	Value *float64 `json:"value"`
}

// Trend is the least-squares line through the latest month-end actuals.
type GoalTrend struct {
	Points int    `json:"points" doc:"How many month-end actuals the line is fitted to."`
	From   string `json:"from" doc:"The first of them (YYYY-MM)."`
	To     string `json:"to" doc:"The last of them (YYYY-MM)."`
	// Slope is the change per month; Value the line's value at To's
	// month-end, so the line at k months later is Value + k × Slope.
	Slope float64 `json:"slope_per_month"`
	Value float64 `json:"value_at_to"`
}

// AtMonth is the line's value at the end of month ("YYYY-MM"); NaN for
// a month that does not parse.
func (t GoalTrend) AtMonth(month string) float64 {
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return math.NaN()
	}
	return t.at(monthNum(m))
}

// at is the line's value at the end of month number m.
func (t GoalTrend) at(m int) float64 {
	to, _ := time.Parse("2006-01", t.To)
	return t.Value + float64(m-monthNum(to))*t.Slope
}

// GoalTracking is a goal measured against its actuals.
type GoalTracking struct {
	// Actuals are the month-ends from the baseline month (the month before
	// the start; six months back when the goal is younger, so that the
	// trend has points) to the last complete month or the deadline month,
	// whichever is earlier.
	Actuals  []MonthValue `json:"actuals"`
	Baseline *float64     `json:"baseline" doc:"The goal's baseline, or else the actual at the end of the month before the start."`
	Latest   *MonthValue  `json:"latest" doc:"The last month-end with a value."`
	// Progress is (latest − baseline) / (target − baseline) in percent:
	// 100 when the target is reached, negative when the metric moved the
	// wrong way; null without a baseline, or when the baseline already met
	// the target (there was no way to go, so no share of it was gone).
	Progress *float64   `json:"progress"`
	Trend    *GoalTrend `json:"trend" doc:"Null with fewer than 2 month-end actuals."`
	Forecast *float64   `json:"forecast" doc:"The trend's value at the end of the deadline month."`
	Status   string     `json:"status" enum:"achieved,on_track,at_risk,off_track,missed,stale,no_data"`
}

// window is the months a goal's tracking looks at, as month numbers: from
// lo to hi (hi < lo when none is complete yet), judged on deadline.
func window(g Goal, now time.Time) (lo, hi, deadline int) {
	last := monthNum(now) - 1 // the last complete month
	deadline = monthNum(g.Deadline)
	lo = min(monthNum(g.Start)-1, last-(TrendPoints-1))
	return lo, min(last, deadline), deadline
}

// Track measures g against the actuals in a at now.
func Track(g Goal, a *Actuals, now time.Time) GoalTracking {
	lo, hi, _ := window(g, now)
	return Evaluate(g, a.series(g.Scope, g.Metric, lo, hi), now)
}

// Evaluate measures g against its month-end actuals (consecutive months,
// as [Track] selects them) at now: baseline, latest, progress, the trend
// over the last TrendPoints actuals with a value, its forecast at the
// deadline month, and the status.
func Evaluate(g Goal, actuals []MonthValue, now time.Time) GoalTracking {
	tr := GoalTracking{Actuals: actuals, Baseline: g.Baseline}
	if tr.Actuals == nil {
		tr.Actuals = []MonthValue{}
	}
	baselineMonth := monthLabel(monthNum(g.Start) - 1)
	var known []MonthValue
	for _, p := range actuals {
		if p.Month == baselineMonth && tr.Baseline == nil {
			tr.Baseline = p.Value
		}
		if p.Value != nil {
			known = append(known, p)
		}
	}
	if len(known) == 0 {
		tr.Status = StatusNoData
		return tr
	}
	latest := known[len(known)-1]
	tr.Latest = &latest
	v := *latest.Value
	// A hair of tolerance: a trend through exact figures lands on the
	// target give or take the last bit of a float.
	eps := 1e-9 * math.Max(1, math.Abs(g.Target))
	meets := func(x float64) bool {
		if g.Direction == AtMost {
			return x <= g.Target+eps
		}
		return x >= g.Target-eps
	}
	if b := tr.Baseline; b != nil && !meets(*b) {
		p := 100 * (v - *b) / (g.Target - *b)
		tr.Progress = &p
	}
	_, _, deadline := window(g, now)
	if fit := known[max(0, len(known)-TrendPoints):]; len(fit) >= MinTrendPoints {
		tr.Trend = fitTrend(fit)
		m, _ := LookupMetric(g.Metric)
		f := m.Clamp(tr.Trend.at(deadline))
		tr.Forecast = &f
	}
	switch {
	case meets(v):
		tr.Status = StatusAchieved
	case monthNum(now)-1 >= deadline:
		tr.Status = StatusMissed
	case tr.Forecast == nil:
		tr.Status = StatusNoData
	case stale(latest, now):
		tr.Status = StatusStale
	case meets(*tr.Forecast):
		tr.Status = StatusOnTrack
	default:
		ref := v
		if tr.Baseline != nil {
			ref = *tr.Baseline
		}
		if math.Abs(g.Target-*tr.Forecast) <= AtRiskShare*math.Abs(g.Target-ref) {
			tr.Status = StatusAtRisk
		} else {
			tr.Status = StatusOffTrack
		}
	}
	return tr
}

// stale reports whether the last StaleMonths complete months before now
// came after latest, the last month-end with a value.
func stale(latest MonthValue, now time.Time) bool {
	m, err := time.Parse("2006-01", latest.Month)
	return err == nil && monthNum(now)-1-monthNum(m) >= StaleMonths
}

// fitTrend is the ordinary least-squares line of value on month number
// through points (at least two, with values).
func fitTrend(points []MonthValue) *GoalTrend {
	xs := make([]float64, len(points))
	var mx, my float64
	for i, p := range points {
		t, _ := time.Parse("2006-01", p.Month)
		xs[i] = float64(monthNum(t))
		mx += xs[i]
		my += *p.Value
	}
	n := float64(len(points))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i, p := range points {
		sxy += (xs[i] - mx) * (*p.Value - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	slope := 0.0
	if sxx > 0 {
		slope = sxy / sxx
	}
	last := xs[len(xs)-1]
	return &GoalTrend{Points: len(points), From: points[0].Month, To: points[len(points)-1].Month,
		Slope: slope, Value: my + slope*(last-mx)}
}
