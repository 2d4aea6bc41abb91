package onboarding

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// outcome is one account's onboarding as of an instant, from the stored
// results.
type outcome struct {
	id        string
	signupDay int64
	status    string // as the snapshot's onboarding_status
	// evaluated: a result of the definition in force is stored.
	evaluated    bool
	completedDay int64 // -1: not completed
}

// closed reports whether o's window has closed by day today.
func (o outcome) closed(window int, today int64) bool { return today >= o.signupDay+int64(window) }

// outcomes reads every account with a signup on or before at, with its
// stored result, in account order.
func outcomes(ctx context.Context, q store.Querier, at time.Time) (OnboardingDefinition, []outcome, error) {
	d, err := Get(ctx, q)
	if err != nil {
		return d, nil, err
	}
	c := &compiled{OnboardingDefinition: d}
	t := at.Unix()
	today := store.Day(t)
	rows, err := q.QueryContext(ctx, `SELECT a.account_id, COALESCE(a.signup_at, (SELECT MIN(p.start_at) FROM subscription_periods p
			WHERE p.account_id = a.account_id AND p.start_at <= $1)),
			r.version, r.signup_day, r.window_days, r.status, r.completed_day, r.checked_day
		FROM accounts a LEFT JOIN onboarding_results r ON r.account_id = a.account_id ORDER BY a.account_id`, t)
	if err != nil {
		return d, nil, fmt.Errorf("onboarding outcomes: %w", err)
	}
	defer rows.Close()
	var out []outcome
	for rows.Next() {
		var id, status sql.NullString
		var sign, version, sday, window, done, checked sql.NullInt64
		if err := rows.Scan(&id, &sign, &version, &sday, &window, &status, &done, &checked); err != nil {
			return d, nil, fmt.Errorf("onboarding outcomes: %w", err)
		}
		if !sign.Valid || sign.Int64 > t {
			continue
		}
		o := outcome{id: id.String, signupDay: store.Day(sign.Int64), completedDay: -1}
		var r *result
		if version.Valid {
			r = &result{version: version.Int64, signupDay: sday.Int64, windowDays: int(window.Int64), status: status.String, completedDay: -1, checkedDay: checked.Int64}
			if done.Valid {
				r.completedDay = done.Int64
			}
		}
		sr := storedFor(r, c, o.signupDay)
		o.evaluated = sr != nil
		if sr != nil && sr.CompletedDay >= 0 && sr.CompletedDay <= today {
			o.completedDay = sr.CompletedDay
		}
		o.status = snapshot.OnboardingStatusAt(sr, true, o.signupDay, d.WindowDays, today)
		// A closed window is decided only once the recompute has seen its
		// last day; before that the account is still being evaluated.
		if o.status == snapshot.OnboardingOverdue && (sr == nil || sr.Status == resultOpen && r.checkedDay < o.signupDay+int64(d.WindowDays)-1) {
			o.evaluated = false
		}
		out = append(out, o)
	}
	return d, out, rows.Err()
}

// CompletionByMonth is the monthly table's onboarding_completion_rate as of
// instant at, by signup month ("YYYY-MM"): the share of the accounts whose
// signup is in the month (those the definition applies to) that completed
// onboarding within their window; nil while the window of any of them is
// open or not yet evaluated by a recompute. Months without such accounts
// are absent.
func CompletionByMonth(ctx context.Context, q store.Querier, at time.Time) (map[string]*float64, error) {
	d, os, err := outcomes(ctx, q, at)
	if err != nil {
		return nil, err
	}
	today := store.Day(at.Unix())
	type tally struct {
		n, done int
		open    bool
	}
	by := map[string]*tally{}
	for _, o := range os {
		if o.status == snapshot.OnboardingNotApplicable {
			continue
		}
		m := store.DayString(o.signupDay)[:7]
		t := by[m]
		if t == nil {
			t = &tally{}
			by[m] = t
		}
		t.n++
		// The contract's rate waits for every window, even of those who
		// completed early: a month's rate does not move once shown.
		if !o.closed(d.WindowDays, today) || !o.evaluated && o.completedDay < 0 {
			t.open = true
		}
		if o.completedDay >= 0 {
			t.done++
		}
	}
	out := make(map[string]*float64, len(by))
	for m, t := range by {
		if t.open {
			out[m] = nil
			continue
		}
		v := float64(t.done) / float64(t.n)
		out[m] = &v
	}
	return out, nil
}

// CompletionGroup is the onboarding of one signup cohort or tier.
type CompletionGroup struct {
	Group string `json:"group" doc:"The signup month (YYYY-MM) or the tier; (none) for accounts without a tier."`
	// Accounts the definition applies to, by status.
	Accounts   int `json:"accounts"`
	Completed  int `json:"completed"`
	Overdue    int `json:"overdue"`
	InProgress int `json:"in_progress"`
	// Closed is how many have a closed (and evaluated) window; the
	// completion rate is the share of them that completed in it.
	Closed         int      `json:"closed"`
	CompletionRate *float64 `json:"completion_rate" doc:"Completed within the window / closed windows; null when none has closed."`
	// MedianDaysToValue is the median of days from signup to completion
	// (time to value) over the completed accounts.
	MedianDaysToValue *float64 `json:"median_days_to_value"`
}

// CompletionChurn is the churn of completers or of those who missed onboarding.
type CompletionChurn struct {
	Accounts         int      `json:"accounts"`
	Churned          int      `json:"churned"`
	ExposureMonths   float64  `json:"exposure_months"`
	MonthlyChurnRate *float64 `json:"monthly_churn_rate" doc:"churned / exposure_months."`
}

// CompletionChurnComparison compares the churn of customers who completed onboarding
// with those who missed it (closed windows only). An account churns when the
// first run of back-to-back subscription periods from its first one ends;
// exposure runs from signup to that churn or to the report's instant.
type CompletionChurnComparison struct {
	Completed CompletionChurn `json:"completed"`
	Missed    CompletionChurn `json:"missed"`
	// RateRatio is completed's monthly churn rate over missed's: below 1,
	// completers churn less.
	RateRatio *float64 `json:"rate_ratio"`
}

// CompletionReport is onboarding completion and time to value by signup cohort and by
// tier, with the churn of completers against the others.
type CompletionReport struct {
	AsOf       time.Time                 `json:"as_of"`
	Definition OnboardingDefinition      `json:"definition"`
	Tier       string                    `json:"tier_attribute" doc:"The account attribute tiers are read from (the tier_attribute setting)."`
	Overall    CompletionGroup           `json:"overall"`
	Cohorts    []CompletionGroup         `json:"cohorts" doc:"By signup month, oldest first."`
	Tiers      []CompletionGroup         `json:"tiers" doc:"By tier, in name order."`
	Churn      CompletionChurnComparison `json:"churn"`
	// NotEvaluated counts accounts whose result the recompute has not
	// written yet (counted as in progress above).
	NotEvaluated int `json:"not_evaluated"`
}

// daysPerMonth converts exposure days to months.
const daysPerMonth = 30.4375

// BuildReport computes the report as of instant at.
func BuildReport(ctx context.Context, q store.Querier, at time.Time) (*CompletionReport, error) {
	d, os, err := outcomes(ctx, q, at)
	if err != nil {
		return nil, err
	}
	tierAttr := "segment"
	var v string
	switch err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'tier_attribute'`).Scan(&v); {
	case err == nil:
		tierAttr = v
	case err != sql.ErrNoRows:
		return nil, fmt.Errorf("onboarding report: %w", err)
	}
	tiers := map[string]string{}
	rows, err := q.QueryContext(ctx, `SELECT account_id, value FROM account_attributes WHERE name = $1`, tierAttr)
	if err != nil {
		return nil, fmt.Errorf("onboarding report: tiers: %w", err)
	}
	for rows.Next() {
		var id, val string
		if err := rows.Scan(&id, &val); err != nil {
			rows.Close()
			return nil, fmt.Errorf("onboarding report: tiers: %w", err)
		}
		tiers[id] = val
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("onboarding report: tiers: %w", err)
	}
	churnDay, err := firstChurns(ctx, q, at)
	if err != nil {
		return nil, err
	}

	today := store.Day(at.Unix())
	rep := &CompletionReport{AsOf: at.UTC(), Definition: d, Tier: tierAttr, Cohorts: []CompletionGroup{}, Tiers: []CompletionGroup{}}
	type acc struct {
		g    CompletionGroup
		days []float64
	}
	cohorts, byTier := map[string]*acc{}, map[string]*acc{}
	var all acc
	var churn [2]CompletionChurn // missed, completed
	add := func(a *acc, o outcome) {
		a.g.Accounts++
		closed := o.closed(d.WindowDays, today) && o.evaluated
		switch {
		case o.completedDay >= 0:
			a.g.Completed++
			a.days = append(a.days, float64(o.completedDay-o.signupDay))
		case o.status == snapshot.OnboardingOverdue && closed:
			a.g.Overdue++
		default:
			a.g.InProgress++
		}
		if closed {
			a.g.Closed++
		}
	}
	completedInClosed := map[*acc]int{}
	for _, o := range os {
		if o.status == snapshot.OnboardingNotApplicable {
			continue
		}
		if !o.evaluated {
			rep.NotEvaluated++
		}
		m := store.DayString(o.signupDay)[:7]
		if cohorts[m] == nil {
			cohorts[m] = &acc{g: CompletionGroup{Group: m}}
		}
		tier := tiers[o.id]
		if tier == "" {
			tier = "(none)"
		}
		if byTier[tier] == nil {
			byTier[tier] = &acc{g: CompletionGroup{Group: tier}}
		}
		closed := o.closed(d.WindowDays, today) && o.evaluated
		for _, a := range []*acc{&all, cohorts[m], byTier[tier]} {
			add(a, o)
			if closed && o.completedDay >= 0 {
				completedInClosed[a]++
			}
		}
		if cd, ok := churnDay[o.id]; ok && closed {
			i := 0
			if o.completedDay >= 0 {
				i = 1
			}
			end := today
			if cd >= 0 && cd <= today {
				end = cd
				churn[i].Churned++
			}
			churn[i].Accounts++
			churn[i].ExposureMonths += float64(max(0, end-o.signupDay)) / daysPerMonth
		}
	}
	finish := func(a *acc) CompletionGroup {
		g := a.g
		if g.Closed > 0 {
			r := float64(completedInClosed[a]) / float64(g.Closed)
			g.CompletionRate = &r
		}
		g.MedianDaysToValue = median(a.days)
		return g
	}
	rep.Overall = finish(&all)
	rep.Overall.Group = "all"
	for _, k := range sortedKeys(cohorts) {
		rep.Cohorts = append(rep.Cohorts, finish(cohorts[k]))
	}
	for _, k := range sortedKeys(byTier) {
		rep.Tiers = append(rep.Tiers, finish(byTier[k]))
	}
	for i := range churn {
		churn[i].ExposureMonths = math.Round(churn[i].ExposureMonths*100) / 100
		if churn[i].ExposureMonths > 0 {
			r := float64(churn[i].Churned) / churn[i].ExposureMonths
			churn[i].MonthlyChurnRate = &r
		}
	}
	rep.Churn = CompletionChurnComparison{Missed: churn[0], Completed: churn[1]}
	if a, b := churn[1].MonthlyChurnRate, churn[0].MonthlyChurnRate; a != nil && b != nil && *b > 0 {
		r := *a / *b
		rep.Churn.RateRatio = &r
	}
	return rep, nil
}

// firstChurns is, for every account with a subscription period started by
// at, the day its first run of back-to-back (or overlapping) periods ended,
// -1 while it runs.
func firstChurns(ctx context.Context, q store.Querier, at time.Time) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, start_at, end_at FROM subscription_periods WHERE start_at <= $1
		ORDER BY account_id, start_at`, at.Unix())
	if err != nil {
		return nil, fmt.Errorf("onboarding report: periods: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	type run struct {
		end  int64 // -1: open
		done bool
	}
	runs := map[string]*run{}
	for rows.Next() {
		var id string
		var start int64
		var end sql.NullInt64
		if err := rows.Scan(&id, &start, &end); err != nil {
			return nil, fmt.Errorf("onboarding report: periods: %w", err)
		}
		e := int64(-1)
		if end.Valid {
			e = end.Int64
		}
		r := runs[id]
		switch {
		case r == nil:
			runs[id] = &run{end: e}
		case r.done || r.end < 0:
		case start <= r.end:
			if e < 0 || e > r.end {
				r.end = e
			}
		default:
			r.done = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("onboarding report: periods: %w", err)
	}
	for id, r := range runs {
		out[id] = -1
		if r.end >= 0 && r.end <= at.Unix() {
			out[id] = store.Day(r.end)
		}
	}
	return out, nil
}

func median(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	slices.Sort(xs)
	n := len(xs)
	m := xs[n/2]
	if n%2 == 0 {
		m = (xs[n/2-1] + xs[n/2]) / 2
	}
	return &m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
