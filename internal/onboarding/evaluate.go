package onboarding

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Result statuses as stored.
const (
	resultCompleted     = "completed"
	resultMissed        = "missed"
	resultOpen          = "open"
	resultNotApplicable = "not_applicable"
)

// result is an account's stored evaluation (table onboarding_results).
type result struct {
	accountID    string
	version      int64
	signupDay    int64
	windowDays   int
	status       string
	completedDay int64 // -1: not completed
	// checkedDay is the last day at whose end the rule was found false
	// (signupDay - 1: none yet).
	checkedDay int64
}

// final reports whether r needs no more evaluation under definition c.
func (r *result) final(c *compiled, signupDay int64) bool {
	if r == nil || r.version != c.Version || r.signupDay != signupDay || r.windowDays != c.WindowDays {
		return false
	}
	last := signupDay + int64(c.WindowDays) - 1
	return r.status == resultCompleted || r.status == resultMissed || r.status == resultNotApplicable && r.checkedDay >= last
}

// endOf is the last second of day d: the instant a day's snapshot is read at.
func endOf(d int64) time.Time { return time.Unix((d+1)*86400-1, 0).UTC() }

// evaluator evaluates a definition for accounts at one instant, reading
// the snapshots of past days it needs with reader.
type evaluator struct {
	def    *compiled
	reader *snapshot.Reader
	// Failures counts accounts on which a rule failed at run time (an
	// attribute of an unexpected type, say): the rule is taken as false.
	failures int
}

// pending is one account's evaluation in progress.
type pending struct {
	id        string
	signupDay int64
	prev      *result
	lo, hi    int64 // the days still to read
}

// match evaluates r on s, counting failures as false.
func (e *evaluator) match(applies bool, s *snapshot.Snapshot) bool {
	r := e.def.rule
	if applies {
		if e.def.applies == nil {
			return true
		}
		r = e.def.applies
	}
	ok, err := r.Match(s)
	if err != nil {
		e.failures++
		return false
	}
	return ok
}

// snapshotsAt computes the snapshots of ids at the end of day d, or takes
// them from current when d is today (current's day, not yet over).
func (e *evaluator) snapshotsAt(ctx context.Context, q store.Querier, d, today int64, ids []string, current map[string]*snapshot.Snapshot) (map[string]*snapshot.Snapshot, error) {
	out := make(map[string]*snapshot.Snapshot, len(ids))
	var missing []string
	for _, id := range ids {
		if s, ok := current[id]; ok && d == today {
			out[id] = s
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	at := endOf(d)
	if d == today {
		at = e.reader.Instant() // today is not over: the run's instant
	}
	r := e.reader.At(at)
	slices.Sort(missing)
	for c := range slices.Chunk(missing, store.MaxInList) {
		snaps, err := r.IDs(ctx, q, c)
		if err != nil {
			return nil, fmt.Errorf("onboarding: snapshots of day %s: %w", store.DayString(d), err)
		}
		for i := range snaps {
			out[snaps[i].AccountID] = &snaps[i]
		}
	}
	return out, nil
}

// evaluate finds the results of the accounts (id → signup day) on day today,
// given their stored results (nil: none) and the snapshots at the
// evaluator's instant that the caller has (current, may be nil). Accounts
// whose result is final are left out of the answer.
//
// Each account's days not yet checked are read in order until the rule
// holds: one snapshot read per day for all the accounts whose window has
// that day, so a batch costs about as many reads as the days its windows
// span, and a later recompute only reads the days since the last one.
func (e *evaluator) evaluate(ctx context.Context, q store.Querier, today int64, signups map[string]int64,
	stored map[string]*result, current map[string]*snapshot.Snapshot) ([]result, error) {
	c := e.def
	window := int64(c.WindowDays)
	starts := map[int64][]*pending{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for id, sd := range signups {
		prev := stored[id]
		if sd > today || prev.final(c, sd) {
			continue
		}
		p := &pending{id: id, signupDay: sd, lo: sd}
		if prev != nil && prev.version == c.Version && prev.signupDay == sd && prev.windowDays == c.WindowDays && prev.status == resultOpen {
			p.prev, p.lo = prev, prev.checkedDay+1
		}
		p.hi = min(today, sd+window-1)
		if p.lo > p.hi {
			continue // nothing new to read
		}
		starts[p.lo] = append(starts[p.lo], p)
		first, last = min(first, p.lo), max(last, p.hi)
	}
	var out []result
	var active []*pending
	for d := first; d <= last; d++ {
		active = append(active, starts[d]...)
		if len(active) == 0 {
			continue
		}
		snaps, err := e.snapshotsAt(ctx, q, d, today, idsOf(active), current)
		if err != nil {
			return nil, err
		}
		keep := active[:0]
		for _, p := range active {
			s := snaps[p.id]
			if s == nil {
				continue // deleted meanwhile
			}
			r := result{accountID: p.id, version: c.Version, signupDay: p.signupDay, windowDays: c.WindowDays, completedDay: -1, checkedDay: d}
			applies := e.match(true, s)
			switch {
			case applies && e.match(false, s):
				r.status, r.completedDay, r.checkedDay = resultCompleted, d, d-1
			case d < p.hi:
				keep = append(keep, p)
				continue
			case !applies:
				r.status = resultNotApplicable
			default:
				r.status = resultOpen
				if d == p.signupDay+window-1 && d < today {
					r.status = resultMissed
				}
			}
			if d == today {
				r.checkedDay = d - 1 // the day is not over
			}
			out = append(out, r)
		}
		active = keep
	}
	slices.SortFunc(out, func(a, b result) int {
		switch {
		case a.accountID < b.accountID:
			return -1
		case a.accountID > b.accountID:
			return 1
		}
		return 0
	})
	return out, nil
}

func idsOf(ps []*pending) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.id
	}
	return ids
}

// signupDays reads the signup day of the accounts (signup_at, else the start
// of their first subscription period, as the snapshot has it); accounts
// with neither, or whose signup is after at, are left out.
func signupDays(ctx context.Context, q store.Querier, ids []string, at time.Time) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	// A key range (account.Where) may also select an account created
	// since; the caller evaluates every account of the answer.
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for c := range slices.Chunk(ids, store.MaxInList) {
		cond, cargs, err := account.Where(ctx, q, "a.account_id", c, 2)
		if err != nil {
			return nil, fmt.Errorf("onboarding: signups: %w", err)
		}
		rows, err := q.QueryContext(ctx, `SELECT a.account_id, COALESCE(a.signup_at, (SELECT MIN(p.start_at) FROM subscription_periods p
				WHERE p.account_id = a.account_id AND p.start_at <= $1))
			FROM accounts a WHERE `+cond, append([]any{at.Unix()}, cargs...)...)
		if err != nil {
			return nil, fmt.Errorf("onboarding: signups: %w", err)
		}
		for rows.Next() {
			var id string
			var sign sql.NullInt64
			if err := rows.Scan(&id, &sign); err != nil {
				rows.Close()
				return nil, fmt.Errorf("onboarding: signups: %w", err)
			}
			if want[id] && sign.Valid && sign.Int64 <= at.Unix() {
				out[id] = store.Day(sign.Int64)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("onboarding: signups: %w", err)
		}
	}
	return out, nil
}

// loadResults reads the stored results of the accounts.
func loadResults(ctx context.Context, q store.Querier, ids []string) (map[string]*result, error) {
	out := map[string]*result{}
	for c := range slices.Chunk(ids, store.MaxInList) {
		cond, args, err := account.Where(ctx, q, "account_id", c, 1)
		if err != nil {
			return nil, fmt.Errorf("onboarding: results: %w", err)
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, version, signup_day, window_days, status, COALESCE(completed_day, -1), checked_day
			FROM onboarding_results WHERE `+cond, args...)
		if err != nil {
			return nil, fmt.Errorf("onboarding: results: %w", err)
		}
		for rows.Next() {
			var r result
			if err := rows.Scan(&r.accountID, &r.version, &r.signupDay, &r.windowDays, &r.status, &r.completedDay, &r.checkedDay); err != nil {
				rows.Close()
				return nil, fmt.Errorf("onboarding: results: %w", err)
			}
			out[r.accountID] = &r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("onboarding: results: %w", err)
		}
	}
	return out, nil
}

// writeChunk is how many rows one multi-row INSERT carries (see the segment
// stage's).
const writeChunk = 64

// saveResults upserts results.
func saveResults(ctx context.Context, q store.Querier, rs []result, now int64) error {
	for c := range slices.Chunk(rs, writeChunk) {
		var args []any
		vals := ""
		for i, r := range c {
			if i > 0 {
				vals += ", "
			}
			vals += "(" + store.Placeholders(len(args)+1, 8) + ")"
			var done any
			if r.completedDay >= 0 {
				done = r.completedDay
			}
			args = append(args, r.accountID, r.version, r.signupDay, r.windowDays, r.status, done, r.checkedDay, now)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO onboarding_results (account_id, version, signup_day, window_days, status, completed_day, checked_day, updated_at)
			VALUES `+vals+` ON CONFLICT (account_id) DO UPDATE SET version = excluded.version, signup_day = excluded.signup_day,
				window_days = excluded.window_days, status = excluded.status, completed_day = excluded.completed_day,
				checked_day = excluded.checked_day, updated_at = excluded.updated_at`, args...)
		if err != nil {
			return fmt.Errorf("onboarding: save results: %w", err)
		}
	}
	return nil
}
