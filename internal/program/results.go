package program

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Control group kinds.
const (
	ControlHoldout = "holdout"
	ControlMatched = "matched"
)

// ControlGroup is the group the participants are compared with.
type ControlGroup struct {
	Kind     string `json:"kind" enum:"holdout,matched"`
	Method   string `json:"method" doc:"How the control group was chosen, in words."`
	Accounts int    `json:"accounts"`
	// Unmatched counts participants the matching found no partner for
	// (the pool ran out); they stay in the participants' group.
	Unmatched int `json:"unmatched,omitempty"`
}

// OutcomeResult is one outcome measure's comparison.
type OutcomeResult struct {
	Measure OutcomeMeasure `json:"measure"`
	Label   string         `json:"label"`
	Method  string         `json:"method"`
	// Share is true when the measure is a proportion: effect and interval
	// are fractions, the verdict states them in percentage points.
	Share bool `json:"share"`
	// WindowEnd is the end (exclusive) of the post-period or churn window;
	// Partial is true when it has not come yet and the post-period so far
	// is measured.
	WindowEnd time.Time      `json:"window_end"`
	Partial   bool           `json:"partial,omitempty"`
	DiD       *DiD           `json:"difference_in_differences,omitempty"`
	Risk      *RiskDiff      `json:"risk_difference,omitempty"`
	Verdict   ProgramVerdict `json:"verdict"`
}

// ProgramResults compares a program's participants with its control group.
type ProgramResults struct {
	Program Program   `json:"program"`
	AsOf    time.Time `json:"as_of"`
	PreFrom time.Time `json:"pre_from" doc:"The pre-period is [pre_from, start_date)."`
	PostTo  time.Time `json:"post_to" doc:"The post-period is [start_date, post_to)."`
	// Participants is how many participants were paying customers at the
	// start (the ones analysed); NotCustomers how many were not. "At the
	// start" is the snapshot of the day before the start date, so that no
	// usage of the start day leaks into the pre-period covariates.
	Participants int             `json:"participants"`
	NotCustomers int             `json:"participants_not_customers"`
	Control      ControlGroup    `json:"control"`
	Measures     []OutcomeResult `json:"measures"`
}

// minGroup is the fewest accounts per group a comparison needs.
const minGroup = 2

// analysis holds what computing one program's results reads, each once.
type analysis struct {
	ctx   context.Context
	q     store.Querier
	prog  Program
	start int64 // day numbers
	now   int64
	snaps map[int64]map[string]snapshot.Snapshot
	usage map[string]map[string]int64 // "event|from|to" → account → count
}

func (a *analysis) snapshotsOn(day int64) (map[string]snapshot.Snapshot, error) {
	if s, ok := a.snaps[day]; ok {
		return s, nil
	}
	list, err := snapshot.All(a.ctx, a.q, time.Unix(day*86400, 0).UTC())
	if err != nil {
		return nil, fmt.Errorf("snapshots on %s: %w", store.DayString(day), err)
	}
	m := make(map[string]snapshot.Snapshot, len(list))
	for _, s := range list {
		m[s.AccountID] = s
	}
	a.snaps[day] = m
	return m, nil
}

func (a *analysis) totals(event string, from, to int64) (map[string]int64, error) {
	key := fmt.Sprintf("%s|%d|%d", event, from, to)
	if t, ok := a.usage[key]; ok {
		return t, nil
	}
	t, err := usage.Totals(a.ctx, a.q, event, from, to)
	if err != nil {
		return nil, err
	}
	a.usage[key] = t
	return t, nil
}

// Compute returns the results of program id as of now.
func Compute(ctx context.Context, q store.Querier, id string, now time.Time) (ProgramResults, error) {
	prog, err := Get(ctx, q, id)
	if err != nil {
		return ProgramResults{}, err
	}
	parts, err := Participants(ctx, q, id)
	if err != nil {
		return ProgramResults{}, err
	}
	a := &analysis{ctx: ctx, q: q, prog: prog, start: store.Day(prog.Start.Unix()), now: store.Day(now.Unix()),
		snaps: map[int64]map[string]snapshot.Snapshot{}, usage: map[string]map[string]int64{}}
	res := ProgramResults{Program: prog, AsOf: now.UTC(), PreFrom: prog.Start.AddDate(0, 0, -prog.PreDays),
		PostTo: prog.Start.AddDate(0, 0, prog.PostDays), Measures: []OutcomeResult{}}
	atStart, err := a.snapshotsOn(a.start - 1)
	if err != nil {
		return res, err
	}
	participant := map[string]bool{}
	var treated []string
	for _, p := range parts {
		participant[p.AccountID] = true
		if atStart[p.AccountID].Customer {
			treated = append(treated, p.AccountID)
		} else {
			res.NotCustomers++
		}
	}
	res.Participants = len(treated)
	var control []string
	if prog.PlaybookID != "" {
		control, res.Control, err = a.holdout(atStart, participant)
	} else {
		control, res.Control, err = a.matched(atStart, participant, treated)
	}
	if err != nil {
		return res, err
	}
	for _, m := range prog.Measures {
		r, err := a.measure(m, treated, control)
		if err != nil {
			return res, fmt.Errorf("results of %s: %s: %w", id, m.Label(), err)
		}
		res.Measures = append(res.Measures, r)
	}
	return res, nil
}

// holdout is the playbook's holdout: accounts drawn into its control group
// in the program's window that were customers at the start.
func (a *analysis) holdout(atStart map[string]snapshot.Snapshot, participant map[string]bool) ([]string, ControlGroup, error) {
	held, err := enrollments(a.ctx, a.q, a.prog, true)
	if err != nil {
		return nil, ControlGroup{}, err
	}
	var ids []string
	for _, id := range sortedKeys(held) {
		if !participant[id] && atStart[id].Customer {
			ids = append(ids, id)
		}
	}
	return ids, ControlGroup{Kind: ControlHoldout, Accounts: len(ids), Method: "the playbook's random holdout (" + a.prog.PlaybookID +
		"): accounts it fired for in the post-period and drew into its control group, not acted on"}, nil
}

// features are the usage events the program's measures name, in order.
func (a *analysis) features() []string {
	var fs []string
	for _, m := range a.prog.Measures {
		if m.Feature != "" && !slices.Contains(fs, m.Feature) {
			fs = append(fs, m.Feature)
		}
	}
	return fs
}

// matched picks, for each participant, the nearest non-participant
// customer of the target segment on pre-period behaviour.
func (a *analysis) matched(atStart map[string]snapshot.Snapshot, participant map[string]bool, treated []string) ([]string, ControlGroup, error) {
	inSegment, err := a.segmentMembers()
	if err != nil {
		return nil, ControlGroup{}, err
	}
	features := a.features()
	pre := make([]map[string]int64, len(features))
	for i, f := range features {
		if pre[i], err = a.totals(f, a.start-int64(a.prog.PreDays), a.start); err != nil {
			return nil, ControlGroup{}, err
		}
	}
	unit := func(id string) Unit {
		s := atStart[id]
		x := make([]float64, 0, len(features)+3)
		var key strings.Builder
		for i := range features {
			x = append(x, math.Log1p(float64(pre[i][id])*30/float64(a.prog.PreDays)))
			key.WriteByte("01"[int(flag(pre[i][id] > 0))])
		}
		// Logarithms: counts, ARR and tenure are skewed, and a month of
		// tenure matters more to a new account than to an old one.
		return Unit{ID: id, Key: key.String(), X: append(x, math.Log1p(s.Events30d), math.Log1p(max(s.ARR, 0)),
			math.Log1p(float64(max(s.TenureDays, 0))))}
	}
	var tu, pool []Unit
	for _, id := range treated {
		tu = append(tu, unit(id))
	}
	for id, s := range atStart {
		if s.Customer && !participant[id] && (inSegment == nil || inSegment[id]) {
			pool = append(pool, unit(id))
		}
	}
	pairs := Match(tu, pool)
	var ids []string
	for _, id := range treated {
		if c, ok := pairs[id]; ok {
			ids = append(ids, c)
		}
	}
	slices.Sort(ids)
	on := make([]string, 0, len(features)+3)
	exact := ""
	for _, f := range features {
		on = append(on, "log "+f+" events per 30 days in the pre-period")
	}
	if len(features) > 0 {
		exact = "exactly on pre-period use of " + strings.Join(features, ", ") + ", then "
	}
	on = append(on, "log all events in the 30 days before the start", "log ARR", "log tenure")
	where := "customers at the start"
	if a.prog.SegmentID != "" {
		where = "customers at the start in segment " + a.prog.SegmentID
	}
	return ids, ControlGroup{Kind: ControlMatched, Accounts: len(ids), Unmatched: len(treated) - len(ids),
		Method: "matched on pre-period behaviour (" + exact + "nearest neighbour on " + strings.Join(on, ", ") +
			"; one to one without replacement among non-participant " + where + ")"}, nil
}

// segmentMembers is the target segment's current membership (nil: no
// target segment).
func (a *analysis) segmentMembers() (map[string]bool, error) {
	if a.prog.SegmentID == "" {
		return nil, nil
	}
	out := map[string]bool{}
	after := ""
	for {
		page, err := segment.Members(a.ctx, a.q, a.prog.SegmentID, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("target segment %s: %w", a.prog.SegmentID, err)
		}
		for _, m := range page {
			out[m.AccountID] = true
		}
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].AccountID
	}
}

// measure compares one outcome measure.
func (a *analysis) measure(m OutcomeMeasure, treated, control []string) (OutcomeResult, error) {
	r := OutcomeResult{Measure: m, Label: m.Label()}
	end := a.start + int64(a.prog.PostDays)
	if m.Kind == MeasureChurn {
		end = a.start + int64(m.Days)
	}
	r.WindowEnd = time.Unix(end*86400, 0).UTC()
	observed := min(end, a.now)
	if observed <= a.start || (m.Kind == MeasureChurn && observed < end) {
		r.Verdict = pendingVerdict(r.Label, r.WindowEnd)
		return r, nil
	}
	r.Partial = observed < end
	switch m.Kind {
	case MeasureAdoption, MeasureEvents:
		return a.usageMeasure(r, treated, control, observed)
	case MeasureHealth:
		return a.healthMeasure(r, treated, control, observed)
	}
	return a.riskMeasure(r, treated, control, observed)
}

// didResult fills r from per-account pre and post values.
func didResult(r OutcomeResult, pre, post func(id string) (float64, bool), treated, control []string) OutcomeResult {
	r.Method = MethodDiD
	values := func(ids []string) (x, y []float64) {
		for _, id := range ids {
			b, ok1 := pre(id)
			e, ok2 := post(id)
			if ok1 && ok2 {
				x, y = append(x, b), append(y, e)
			}
		}
		return x, y
	}
	tp, tq := values(treated)
	cp, cq := values(control)
	d, err := DiffInDiff(tp, tq, cp, cq)
	if err != nil {
		r.Verdict = insufficientVerdict(r.Label, len(tp), len(cp), minGroup)
		return r
	}
	r.DiD = &d
	if r.Share && constant(tp, cp) {
		// Every account started from the same value (typically: nobody
		// used the feature before, as matching on pre-period use makes
		// it), so the DiD is the difference of the post shares; the
		// analytic SE of the changes collapses to 0 when nobody changes,
		// where the score interval of that difference does not.
		rd, err := RiskDifference(countOnes(tq), len(tq), countOnes(cq), len(cq))
		if err != nil {
			return r
		}
		r.Method, r.Risk = MethodDiDShares, &rd
		d.Low, d.High = rd.Low, rd.High
		r.DiD = &d
	}
	if d.StdErr == 0 && d.Effect == 0 && r.Risk == nil {
		r.Verdict = noChangeVerdict(r.Label)
		return r
	}
	r.Verdict = effectVerdict(r.Label, d.Effect, d.Low, d.High, r.Share)
	return r
}

// constant reports whether every value of both lists is the same.
func constant(a, b []float64) bool {
	all := append(slices.Clone(a), b...)
	for _, v := range all {
		if v != all[0] {
			return false
		}
	}
	return true
}

func countOnes(x []float64) int {
	n := 0
	for _, v := range x {
		if v == 1 {
			n++
		}
	}
	return n
}

func (a *analysis) usageMeasure(r OutcomeResult, treated, control []string, observed int64) (OutcomeResult, error) {
	m := r.Measure
	preFrom := a.start - int64(a.prog.PreDays)
	pre, err := a.totals(m.Feature, preFrom, a.start)
	if err != nil {
		return r, err
	}
	post, err := a.totals(m.Feature, a.start, observed)
	if err != nil {
		return r, err
	}
	value := func(t map[string]int64, days int64) func(string) (float64, bool) {
		if m.Kind == MeasureAdoption {
			return func(id string) (float64, bool) { return flag(t[id] > 0), true }
		}
		return func(id string) (float64, bool) { return float64(t[id]) * 30 / float64(days), true }
	}
	r.Share = m.Kind == MeasureAdoption
	return didResult(r, value(pre, int64(a.prog.PreDays)), value(post, observed-a.start), treated, control), nil
}

func (a *analysis) healthMeasure(r OutcomeResult, treated, control []string, observed int64) (OutcomeResult, error) {
	pre, err := health.ScoresOn(a.ctx, a.q, a.start-1)
	if err != nil {
		return r, err
	}
	post, err := health.ScoresOn(a.ctx, a.q, observed-1)
	if err != nil {
		return r, err
	}
	get := func(m map[string]float64) func(string) (float64, bool) {
		return func(id string) (float64, bool) { v, ok := m[id]; return v, ok }
	}
	return didResult(r, get(pre), get(post), treated, control), nil
}

// riskMeasure compares churn or expansion: each group's share of accounts
// that churned (no longer paying at the window's end) or expanded (paying
// more ARR at the end than at the start).
func (a *analysis) riskMeasure(r OutcomeResult, treated, control []string, observed int64) (OutcomeResult, error) {
	r.Method, r.Share = MethodRiskDiff, true
	atStart, err := a.snapshotsOn(a.start - 1)
	if err != nil {
		return r, err
	}
	atEnd, err := a.snapshotsOn(observed)
	if err != nil {
		return r, err
	}
	event := func(id string) bool {
		e := atEnd[id]
		if r.Measure.Kind == MeasureChurn {
			return !e.Customer
		}
		return e.Customer && e.ARR > atStart[id].ARR+0.005
	}
	count := func(ids []string) int {
		n := 0
		for _, id := range ids {
			if event(id) {
				n++
			}
		}
		return n
	}
	if len(treated) < minGroup || len(control) < minGroup {
		r.Verdict = insufficientVerdict(r.Label, len(treated), len(control), minGroup)
		return r, nil
	}
	d, err := RiskDifference(count(treated), len(treated), count(control), len(control))
	if err != nil {
		return r, err
	}
	r.Risk = &d
	r.Verdict = effectVerdict(r.Label, d.Effect, d.Low, d.High, true)
	return r, nil
}

func flag(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
