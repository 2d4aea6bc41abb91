package onboarding

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// backfill evaluates, once at the start of a run, every account whose
// window closed before today without a final result for the definition in
// force (after a definition is saved, or on the first run). Done batch by
// batch, each batch would read a snapshot for every day its accounts'
// windows span; across all accounts, the reads of one day serve every
// account that needs that day: the window's last day for everyone, then,
// for those the rule holds for there, the days from signup on until the
// first one it holds.
func (st *Stage) backfill(ctx context.Context, q store.Querier, at time.Time) error {
	c := st.def
	t := at.Unix()
	today := store.Day(t)
	window := int64(c.WindowDays)
	// Every full run scans every account, and after the first nearly all
	// results are final: the query leaves those out (the test below is
	// result.final's, the day floor(sign / 86400) as store.Day), so that
	// a million accounts are not read into Go each run. What it returns
	// is checked again below.
	rows, err := q.QueryContext(ctx, `SELECT x.account_id, x.sign, x.version, x.signup_day, x.window_days, x.status, x.checked_day FROM (
			SELECT a.account_id, COALESCE(a.signup_at, (SELECT MIN(p.start_at) FROM subscription_periods p
				WHERE p.account_id = a.account_id AND p.start_at <= $1)) AS sign,
				r.version, r.signup_day, r.window_days, r.status, r.checked_day
			FROM accounts a LEFT JOIN onboarding_results r ON r.account_id = a.account_id) x
		WHERE x.version IS NULL OR x.sign IS NULL OR NOT (x.version = $2 AND x.window_days = $3
			AND x.signup_day = (x.sign - ((x.sign % 86400) + 86400) % 86400) / 86400
			AND (x.status IN ('completed', 'missed') OR x.status = 'not_applicable' AND x.checked_day >= x.signup_day + $3 - 1))
		ORDER BY x.account_id`, t, c.Version, c.WindowDays)
	if err != nil {
		return fmt.Errorf("onboarding backfill: %w", err)
	}
	byLast := map[int64][]*pending{}
	for rows.Next() {
		var id string
		var sign, version, sday, wdays, checked sql.NullInt64
		var status sql.NullString
		if err := rows.Scan(&id, &sign, &version, &sday, &wdays, &status, &checked); err != nil {
			rows.Close()
			return fmt.Errorf("onboarding backfill: %w", err)
		}
		if !sign.Valid || sign.Int64 > t {
			continue
		}
		sd := store.Day(sign.Int64)
		last := sd + window - 1
		if last >= today {
			continue // open: the batches evaluate it
		}
		p := &pending{id: id, signupDay: sd, lo: sd, hi: last}
		if version.Valid {
			prev := &result{version: version.Int64, signupDay: sday.Int64, windowDays: int(wdays.Int64), status: status.String, checkedDay: checked.Int64}
			if prev.final(c, sd) {
				continue
			}
			if prev.version == c.Version && prev.signupDay == sd && prev.windowDays == c.WindowDays && prev.status == resultOpen {
				p.lo = prev.checkedDay + 1
			}
		}
		byLast[last] = append(byLast[last], p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("onboarding backfill: %w", err)
	}
	e := &evaluator{def: c, reader: st.reader}
	// Results are written backfillFlush at a time, each lot in key order
	// (one pass along onboarding_results): held to the end, a million
	// accounts' results took the recompute's peak memory about 150 MB
	// higher; written a few thousand at a time as they came (in signup
	// order, scattered over the table), each write touched most of the
	// table's pages again. A result written is final and no account is
	// evaluated twice, so the later reads see the same data either way.
	var out []result
	flush := func(least int) error {
		if len(out) == 0 || len(out) < least {
			return nil
		}
		st.Backfilled += len(out)
		slices.SortFunc(out, func(a, b result) int { return strings.Compare(a.accountID, b.accountID) })
		err := saveResults(ctx, q, out, time.Now().Unix())
		out = out[:0]
		return err
	}
	starts := map[int64][]*pending{}
	first, end := int64(1<<62), int64(-1<<62)
	for _, d := range sortedDays(byLast) {
		ps := byLast[d]
		for ch := range slices.Chunk(ps, store.MaxInList) {
			snaps, err := e.snapshotsAt(ctx, q, d, today, idsOf(ch), nil)
			if err != nil {
				return err
			}
			for _, p := range ch {
				s := snaps[p.id]
				if s == nil {
					continue
				}
				r := result{accountID: p.id, version: c.Version, signupDay: p.signupDay, windowDays: c.WindowDays, completedDay: -1, checkedDay: d}
				switch {
				case !e.match(true, s):
					r.status = resultNotApplicable
				case !e.match(false, s):
					r.status = resultMissed
				default:
					// It holds at the end: find the first day.
					starts[p.lo] = append(starts[p.lo], p)
					first, end = min(first, p.lo), max(end, p.hi)
					continue
				}
				out = append(out, r)
			}
			if err := flush(backfillFlush); err != nil {
				return err
			}
		}
		delete(byLast, d) // read: let the garbage collector have them
	}
	var active []*pending
	for d := first; d <= end; d++ {
		active = append(active, starts[d]...)
		if len(active) == 0 {
			continue
		}
		found := map[string]bool{}
		for ch := range slices.Chunk(active, store.MaxInList) {
			snaps, err := e.snapshotsAt(ctx, q, d, today, idsOf(ch), nil)
			if err != nil {
				return err
			}
			for _, p := range ch {
				if s := snaps[p.id]; d == p.hi || s != nil && e.match(true, s) && e.match(false, s) {
					found[p.id] = true
					out = append(out, result{accountID: p.id, version: c.Version, signupDay: p.signupDay, windowDays: c.WindowDays,
						status: resultCompleted, completedDay: d, checkedDay: d - 1})
				}
			}
			if err := flush(backfillFlush); err != nil {
				return err
			}
		}
		delete(starts, d)
		active = slices.DeleteFunc(active, func(p *pending) bool { return found[p.id] })
	}
	st.Failures += e.failures
	return flush(0)
}

// backfillFlush is how many results the backfill holds before writing
// them (a variable for the tests).
var backfillFlush = 1 << 16

func sortedDays(m map[int64][]*pending) []int64 {
	days := make([]int64, 0, len(m))
	for d := range m {
		days = append(days, d)
	}
	slices.Sort(days)
	return days
}
