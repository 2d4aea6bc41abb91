package onboarding

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Stage is the recompute pipeline's onboarding stage (see
// internal/recompute), after health: for each batch it completes the
// milestones whose event has been seen, evaluates the definition for every
// account whose result is not final, stores the results and fills the
// snapshots' onboarding_status and onboarding_milestones for the later
// stages (segments, playbooks: the "onboarding overdue" trigger).
type Stage struct {
	def        *compiled
	milestones []ChecklistMilestone
	reader     *snapshot.Reader
	// Failures counts accounts on which the rule failed at run time (taken
	// as not holding); Evaluated counts results written; Completions counts
	// milestones completed from events.
	Failures, Evaluated, Completions int
	// Partial is set for a recompute of only some accounts (after their
	// data changed): the closed windows of the others wait for the next
	// full run instead of a pass over every account; each batch still
	// evaluates its own accounts.
	Partial bool
	// Backfilled counts the closed windows evaluated at the start of the
	// run (see backfill).
	Backfilled int
}

// NewStage loads the definition and the checklist once for a recompute.
func NewStage(ctx context.Context, q store.Querier) (*Stage, error) {
	d, err := Get(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("onboarding stage: %w", err)
	}
	c, err := compile(d)
	if err != nil {
		return nil, fmt.Errorf("onboarding stage: definition %d: %w", d.Version, err)
	}
	ms, err := Milestones(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("onboarding stage: %w", err)
	}
	return &Stage{def: c, milestones: ms}, nil
}

// Name is the stage's name in the pipeline.
func (st *Stage) Name() string { return "onboarding" }

// Apply runs the stage on one batch; see [Stage].
func (st *Stage) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	if len(snaps) == 0 {
		return nil
	}
	if st.reader == nil || !st.reader.Instant().Equal(at) {
		r, err := snapshot.NewReader(ctx, q, at)
		if err != nil {
			return fmt.Errorf("onboarding stage: %w", err)
		}
		// The evaluations read snapshots of past days for the rules alone.
		st.reader = r.Only(st.def.fields()...)
		if !st.Partial {
			if err := st.backfill(ctx, q, at); err != nil {
				return err
			}
		}
	}
	ids := make([]string, len(snaps))
	current := make(map[string]*snapshot.Snapshot, len(snaps))
	for i := range snaps {
		ids[i] = snaps[i].AccountID
		current[ids[i]] = &snaps[i]
	}
	if err := st.completeFromEvents(ctx, q, at, ids, current); err != nil {
		return err
	}
	today := store.Day(at.Unix())
	signups, err := signupDays(ctx, q, ids, at)
	if err != nil {
		return err
	}
	stored, err := loadResults(ctx, q, ids)
	if err != nil {
		return err
	}
	e := &evaluator{def: st.def, reader: st.reader}
	res, err := e.evaluate(ctx, q, today, signups, stored, current)
	if err != nil {
		return fmt.Errorf("onboarding stage: %w", err)
	}
	st.Failures += e.failures
	if err := saveResults(ctx, q, res, time.Now().Unix()); err != nil {
		return err
	}
	st.Evaluated += len(res)
	for i := range res {
		stored[res[i].accountID] = &res[i]
	}
	for _, s := range current {
		sd, known := signups[s.AccountID]
		s.OnboardingStatus = snapshot.OnboardingStatusAt(storedFor(stored[s.AccountID], st.def, sd), known, sd, st.def.WindowDays, today)
	}
	return nil
}

// storedFor is r as the snapshot reads it: nil when it is stale.
func storedFor(r *result, c *compiled, signupDay int64) *snapshot.OnboardingResult {
	if r == nil || r.version != c.Version || r.signupDay != signupDay || r.windowDays != c.WindowDays {
		return nil
	}
	return &snapshot.OnboardingResult{Version: r.version, SignupDay: r.signupDay, WindowDays: r.windowDays, Status: r.status, CompletedDay: r.completedDay}
}

// completeFromEvents records the milestones of the batch whose event has
// been seen in the rollups by today and that have no entry yet (an item
// uncompleted by hand keeps its entry), and refreshes the snapshots'
// onboarding_milestones.
func (st *Stage) completeFromEvents(ctx context.Context, q store.Querier, at time.Time, ids []string, current map[string]*snapshot.Snapshot) error {
	if len(st.milestones) == 0 {
		return nil
	}
	type key struct{ account, milestone string }
	type entry struct {
		done bool
		at   int64
	}
	have := map[key]entry{}
	for c := range slices.Chunk(ids, store.MaxInList) {
		args := make([]any, len(c))
		for i, id := range c {
			args[i] = id
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, milestone_id, done, at FROM onboarding_checklist
			WHERE account_id IN (`+store.Placeholders(1, len(c))+`)`, args...)
		if err != nil {
			return fmt.Errorf("onboarding stage: checklist: %w", err)
		}
		for rows.Next() {
			var k key
			var done int
			var t int64
			if err := rows.Scan(&k.account, &k.milestone, &done, &t); err != nil {
				rows.Close()
				return fmt.Errorf("onboarding stage: checklist: %w", err)
			}
			have[k] = entry{done == 1, t}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("onboarding stage: checklist: %w", err)
		}
	}
	today := store.Day(at.Unix())
	var adds []key
	var addAt []int64
	for _, m := range st.milestones {
		if m.Event == "" {
			continue
		}
		var need []string
		for _, id := range ids {
			if _, ok := have[key{id, m.ID}]; !ok {
				need = append(need, id)
			}
		}
		// One seek per account, as the snapshot finds the setup event.
		for c := range slices.Chunk(need, store.MaxInList) {
			args := []any{m.Event, today}
			for _, id := range c {
				args = append(args, id)
			}
			rows, err := q.QueryContext(ctx, `SELECT a.account_id, (SELECT MIN(u.day) FROM usage_daily u
					WHERE u.account_id = a.account_id AND u.event = $1 AND u.day <= $2)
				FROM accounts a WHERE a.account_id IN (`+store.Placeholders(3, len(c))+`)`, args...)
			if err != nil {
				return fmt.Errorf("onboarding stage: milestone %s: %w", m.ID, err)
			}
			for rows.Next() {
				var id string
				var d sql.NullInt64
				if err := rows.Scan(&id, &d); err != nil {
					rows.Close()
					return fmt.Errorf("onboarding stage: milestone %s: %w", m.ID, err)
				}
				if d.Valid {
					k := key{id, m.ID}
					adds, addAt = append(adds, k), append(addAt, d.Int64*86400)
					have[k] = entry{true, d.Int64 * 86400}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("onboarding stage: milestone %s: %w", m.ID, err)
			}
		}
	}
	for i := 0; i < len(adds); i += writeChunk {
		n := min(writeChunk, len(adds)-i)
		var args []any
		vals := ""
		for j := range n {
			if j > 0 {
				vals += ", "
			}
			vals += "(" + store.Placeholders(len(args)+1, 3) + ", 1, 'event', '')"
			args = append(args, adds[i+j].account, adds[i+j].milestone, addAt[i+j])
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO onboarding_checklist (account_id, milestone_id, at, done, source, by_actor)
			VALUES `+vals+` ON CONFLICT (account_id, milestone_id) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("onboarding stage: complete milestones: %w", err)
		}
	}
	st.Completions += len(adds)
	t := at.Unix()
	for id, s := range current {
		done := []string{}
		for _, m := range st.milestones {
			if e, ok := have[key{id, m.ID}]; ok && e.done && e.at <= t {
				done = append(done, m.ID)
			}
		}
		s.OnboardingMilestones = done
	}
	return nil
}
