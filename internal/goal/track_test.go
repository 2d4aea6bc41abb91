package goal_test

import (
	"math"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/goal"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// points are consecutive month-ends from first; NaN is a month without a value.
func points(first string, values ...float64) []goal.MonthValue {
	t, _ := time.Parse("2006-01", first)
	out := make([]goal.MonthValue, len(values))
	for i, v := range values {
		out[i].Month = t.AddDate(0, i, 0).Format("2006-01")
		if !math.IsNaN(v) {
			out[i].Value = &v
		}
	}
	return out
}

func ptr(x float64) *float64 { return &x }

func near(a *float64, b float64) bool { return a != nil && math.Abs(*a-b) < 1e-9 }

// TestEvaluate checks the trend, forecast, progress and status against
// numbers worked out by hand. Unless a case says otherwise the goal starts
// on 2026-02-01 (baseline month 2026-01), is due on 2026-06-30 (judged on
// June's figures) and is evaluated on 2026-05-10, when April is the last
// complete month.
func TestEvaluate(t *testing.T) {
	nan := math.NaN()
	now := date("2026-05-10")
	tests := []struct {
		name      string
		metric    string // mrr when empty
		direction string
		target    float64
		baseline  *float64
		deadline  string
		now       time.Time
		actuals   []goal.MonthValue
		// want: the trend's slope and value at its last month (NaN: no
		// trend), the forecast at the deadline, the progress and status.
		slope, value, forecast, progress float64
		points                           int
		status                           string
	}{
		// A straight line 100, 110, 120, 130: slope 10, 150 at the end of
		// June (two months after April); progress (130 − 100) / (150 − 100).
		{name: "linear, on track", target: 150, actuals: points("2026-01", 100, 110, 120, 130),
			slope: 10, value: 130, forecast: 150, progress: 60, points: 4, status: goal.StatusOnTrack},
		// The same line misses 155 by 5, within 10% of |155 − 100| = 5.5.
		{name: "at risk", target: 155, actuals: points("2026-01", 100, 110, 120, 130),
			slope: 10, value: 130, forecast: 150, progress: 30.0 / 55 * 100, points: 4, status: goal.StatusAtRisk},
		// It misses 160 by 10, more than 10% of 60 = 6.
		{name: "off track", target: 160, actuals: points("2026-01", 100, 110, 120, 130),
			slope: 10, value: 130, forecast: 150, progress: 50, points: 4, status: goal.StatusOffTrack},
		// 1, 2, 4 at x = 0, 1, 2: x̄ = 1, ȳ = 7/3, Sxy = (−1)(−4/3) + (1)(5/3) = 3,
		// Sxx = 2, slope 1.5; at March 7/3 + 1.5 = 23/6; June is 3 months
		// on: 23/6 + 4.5 = 25/3. Baseline January = 1: (4 − 1) / (10 − 1).
		{name: "least squares", target: 10, actuals: points("2026-01", 1, 2, 4), now: date("2026-04-02"),
			slope: 1.5, value: 23.0 / 6, forecast: 25.0 / 3, progress: 100.0 / 3, points: 3, status: goal.StatusOffTrack},
		// A month without a value is skipped: x = 0, 2, 3 with 100, 120, 130
		// gives slope 10 and 130 at April all the same.
		{name: "null month skipped", target: 150, actuals: points("2026-01", 100, nan, 120, 130),
			slope: 10, value: 130, forecast: 150, progress: 60, points: 3, status: goal.StatusOnTrack},
		// Only the last 6 values count: the two 1000s before them do not.
		{name: "last six", target: 210, baseline: ptr(100), deadline: "2026-12-31", now: date("2026-09-03"),
			actuals: points("2026-01", 1000, 1000, 100, 110, 120, 130, 140, 150),
			slope:   10, value: 150, forecast: 190, progress: 50.0 / 110 * 100, points: 6, status: goal.StatusOffTrack},
		// At most: logo churn 5%, 4.5%, 4%, 3.5% heads for 2.5% by June,
		// under the 3% target; progress (0.035 − 0.05) / (0.03 − 0.05) = 75%.
		{name: "at most, on track", direction: goal.AtMost, target: 0.03, actuals: points("2026-01", 0.05, 0.045, 0.04, 0.035),
			slope: -0.005, value: 0.035, forecast: 0.025, progress: 75, points: 4, status: goal.StatusOnTrack},
		// At most, rising: 3% … 4.5% heads for 5.5%, far over 2%; progress
		// (0.045 − 0.03) / (0.02 − 0.03) = −150%.
		{name: "at most, off track", direction: goal.AtMost, target: 0.02, actuals: points("2026-01", 0.03, 0.035, 0.04, 0.045),
			slope: 0.005, value: 0.045, forecast: 0.055, progress: -150, points: 4, status: goal.StatusOffTrack},
		// At most, 4.2%, 3.6%, 3.4%, 3.0%: x̄ = 1.5, ȳ = 0.0355, Sxy = −0.019,
		// Sxx = 5, slope −0.0038; at April 0.0355 − 1.5 × 0.0038 = 0.0298,
		// at June 0.0222: 0.02 points over 2.2%, within 10% of |2.2% − 4.2%|.
		{name: "at most, at risk", direction: goal.AtMost, target: 0.022, actuals: points("2026-01", 0.042, 0.036, 0.034, 0.030),
			slope: -0.0038, value: 0.0298, forecast: 0.0222, progress: 60, points: 4, status: goal.StatusAtRisk},
		// Logo churn 4%, 3%, 2%, 1%: the line reaches −1% by June, which
		// no churn rate can be; the forecast stops at 0. Progress from the
		// 4% baseline: (0.01 − 0.04) / (0.005 − 0.04) = 6/7.
		{name: "rate forecast clamped at 0", metric: "logo_churn_rate", direction: goal.AtMost, target: 0.005,
			actuals: points("2026-01", 0.04, 0.03, 0.02, 0.01),
			slope:   -0.01, value: 0.01, forecast: 0, progress: 600.0 / 7, points: 4, status: goal.StatusOnTrack},
		// NPS 40, 60, 80, 90: ȳ = 67.5, Sxy = 85, Sxx = 5: slope 17, 93 at
		// April; June's 127 is shown as 100.
		{name: "NPS forecast clamped at 100", metric: "nps", target: 95, actuals: points("2026-01", 40, 60, 80, 90),
			slope: 17, value: 93, forecast: 100, progress: 50.0 / 55 * 100, points: 4, status: goal.StatusOnTrack},
		// Net new MRR can go below 0: no clamp.
		{name: "unbounded metric", metric: "net_new_mrr", target: 50, actuals: points("2026-01", 30, 20, 10, 0),
			slope: -10, value: 0, forecast: -20, progress: -30.0 / 20 * 100, points: 4, status: goal.StatusOffTrack},
		// Met now: achieved, whatever the trend says.
		{name: "achieved early", target: 125, actuals: points("2026-01", 100, 110, 120, 130),
			slope: 10, value: 130, forecast: 150, progress: 120, points: 4, status: goal.StatusAchieved},
		{name: "at most, achieved", direction: goal.AtMost, target: 0.04, actuals: points("2026-01", 0.05, 0.045, 0.04, 0.035),
			slope: -0.005, value: 0.035, forecast: 0.025, progress: 150, points: 4, status: goal.StatusAchieved},
		// Due in March and not met by March's figures: missed (the window
		// ends at the deadline month, so May's data would not count).
		{name: "missed", target: 150, deadline: "2026-03-15", actuals: points("2026-01", 100, 110, 120),
			slope: 10, value: 120, forecast: 120, progress: 40, points: 3, status: goal.StatusMissed},
		{name: "achieved by the deadline", target: 115, deadline: "2026-03-15", actuals: points("2026-01", 100, 110, 120),
			slope: 10, value: 120, forecast: 120, progress: 100 * 20.0 / 15, points: 3, status: goal.StatusAchieved},
		// March and April have no value: the trend through January and
		// February would meet 150 by June, but on figures two months old.
		{name: "stale", target: 150, actuals: points("2026-01", 100, 110, nan, nan),
			slope: 10, value: 110, forecast: 150, progress: 20, points: 2, status: goal.StatusStale},
		// April alone missing is not stale yet: 100, 110, 120 heads for
		// 150 by June, three months after March.
		{name: "one month missing", target: 150, actuals: points("2026-01", 100, 110, 120, nan),
			slope: 10, value: 120, forecast: 150, progress: 40, points: 3, status: goal.StatusOnTrack},
		// Stale data that meets the target already: achieved all the same.
		{name: "stale but achieved", target: 105, actuals: points("2026-01", 100, 110, nan, nan),
			slope: 10, value: 110, forecast: 150, progress: 200, points: 2, status: goal.StatusAchieved},
		// One value short of the target: no trend, so no judgement.
		{name: "one value", target: 150, actuals: points("2026-01", 100),
			slope: nan, forecast: nan, progress: 0, points: 0, status: goal.StatusNoData},
		{name: "no values", target: 150, actuals: points("2026-01", nan, nan),
			slope: nan, forecast: nan, progress: nan, points: 0, status: goal.StatusNoData},
		// A baseline that met the target already leaves no way to go: no
		// progress, while the status still follows the latest value. ȳ = 106,
		// Sxy = −14, Sxx = 5: slope −2.8, 106 − 1.5 × 2.8 = 101.8 at April,
		// 96.2 at June.
		{name: "baseline met already", target: 105, actuals: points("2026-01", 110, 108, 104, 102),
			slope: -2.8, value: 101.8, forecast: 96.2, progress: nan, points: 4, status: goal.StatusOffTrack},
		// A given baseline is where progress counts from: (130 − 120) / (150 − 120).
		{name: "own baseline", target: 150, baseline: ptr(120), actuals: points("2026-01", 100, 110, 120, 130),
			slope: 10, value: 130, forecast: 150, progress: 100.0 / 3, points: 4, status: goal.StatusOnTrack},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			metric := tc.metric
			if metric == "" {
				metric = "mrr"
			}
			g := goal.Goal{ID: "g", Metric: metric, Target: tc.target, Direction: tc.direction, Baseline: tc.baseline,
				Start: date("2026-02-01"), Deadline: date("2026-06-30")}
			if g.Direction == "" {
				g.Direction = goal.AtLeast
			}
			if tc.deadline != "" {
				g.Deadline = date(tc.deadline)
			}
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			got := goal.Evaluate(g, tc.actuals, at)
			if got.Status != tc.status {
				t.Errorf("status %s, want %s", got.Status, tc.status)
			}
			if math.IsNaN(tc.slope) {
				if got.Trend != nil || got.Forecast != nil {
					t.Errorf("trend %+v forecast %v, want none", got.Trend, got.Forecast)
				}
			} else if got.Trend == nil || math.Abs(got.Trend.Slope-tc.slope) > 1e-9 || got.Trend.Points != tc.points ||
				math.Abs(got.Trend.Value-tc.value) > 1e-9 || !near(got.Forecast, tc.forecast) {
				t.Errorf("trend %+v forecast %v, want slope %v value %v over %d points, forecast %v", got.Trend, deref(got.Forecast), tc.slope, tc.value, tc.points, tc.forecast)
			}
			if math.IsNaN(tc.progress) {
				if got.Progress != nil {
					t.Errorf("progress %v, want none", *got.Progress)
				}
			} else if !near(got.Progress, tc.progress) {
				t.Errorf("progress %v, want %v", deref(got.Progress), tc.progress)
			}
		})
	}
}

func deref(x *float64) any {
	if x == nil {
		return nil
	}
	return *x
}
