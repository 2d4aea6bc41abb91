package lifecycle

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Classifier picks an account's stage from compiled stage rules.
type Classifier struct {
	stages []compiled
	// Invalid are the stored stages whose rule no longer compiles (a
	// snapshot field was renamed, say), by id: they are skipped rather
	// than stopping the whole recompute.
	Invalid map[string]error
	// Failures counts, per stage id, the accounts on which the rule failed
	// at run time (an attribute of an unexpected type, say); such a rule
	// is taken as not matching.
	Failures map[string]int
}

type compiled struct {
	id   string
	rule *rule.Rule
}

// NewClassifier compiles defs, which must be in evaluation order (as
// [List] returns them).
func NewClassifier(defs []StageDefinition) *Classifier {
	c := &Classifier{Invalid: map[string]error{}, Failures: map[string]int{}}
	for _, d := range defs {
		r, err := rule.Compile(d.Rule, rule.Bool)
		if err != nil {
			c.Invalid[d.ID] = err
			continue
		}
		c.stages = append(c.stages, compiled{d.ID, r})
	}
	return c
}

// Classify is the id of the first stage whose rule matches s, or "" when
// none does.
func (c *Classifier) Classify(s *snapshot.Snapshot) string {
	for _, st := range c.stages {
		ok, err := st.rule.Match(s)
		if err != nil {
			c.Failures[st.id]++
			continue
		}
		if ok {
			return st.id
		}
	}
	return ""
}

// Stage is the recompute pipeline's lifecycle stage (see
// internal/recompute): it classifies each snapshot of a batch, writes the
// changes of stage to the history and the current stage, and fills the
// snapshots' Stage and DaysInStage for the later stages (segments,
// playbooks).
type Stage struct {
	*Classifier
	// Changed counts the accounts whose stage the run changed.
	Changed int
}

// NewStage loads and compiles the stage rules once for a recompute.
func NewStage(ctx context.Context, q store.Querier) (*Stage, error) {
	defs, err := List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("lifecycle stage: %w", err)
	}
	return &Stage{Classifier: NewClassifier(defs)}, nil
}

// Name is the stage's name in the pipeline.
func (st *Stage) Name() string { return "lifecycle" }

// stored is what the history says of one account around an instant t.
type stored struct {
	before   string // the stage of the latest change before t ("" when none)
	beforeAt int64
	same     sql.NullString // the change at t exactly, if any
	nextAt   sql.NullInt64  // the first change after t, if any
	next     string
}

// Apply classifies snaps (one batch, at instant at) and records the
// changes: a change at at when the stage differs from the one in force
// just before at. Recomputing at a past instant (a backfill) inserts the
// change there and keeps the later history; a later change that the new
// one makes redundant (the same stage) is removed, so the history never
// repeats a stage.
func (st *Stage) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	if len(snaps) == 0 {
		return nil
	}
	t := at.Unix()
	old, err := readStored(ctx, q, t, snaps)
	if err != nil {
		return fmt.Errorf("lifecycle stage: %w", err)
	}
	var w writes
	for i := range snaps {
		s := &snaps[i]
		want := st.Classify(s)
		h := old[s.AccountID]
		entered, changed := h.beforeAt, false
		switch {
		case h.same.Valid && h.same.String == want:
			entered = t
		case h.same.Valid && want == h.before:
			w.deletes = append(w.deletes, key{s.AccountID, t})
			changed = true
		case h.same.Valid:
			w.updates = append(w.updates, row{s.AccountID, t, want})
			entered, changed = t, true
		case want != h.before:
			w.inserts = append(w.inserts, row{s.AccountID, t, want})
			entered, changed = t, true
		}
		if changed {
			if h.nextAt.Valid && h.next == want {
				w.deletes = append(w.deletes, key{s.AccountID, h.nextAt.Int64})
			}
			w.accounts = append(w.accounts, s.AccountID)
		}
		s.Stage, s.DaysInStage = want, -1
		if want != "" {
			s.DaysInStage = int((t - entered) / 86400)
		}
	}
	if err := w.apply(ctx, q); err != nil {
		return fmt.Errorf("lifecycle stage: %w", err)
	}
	st.Changed += len(w.accounts)
	return nil
}

// readStored reads, for each account of the batch, the history around t.
// The history rows of the batch's accounts are read in key order and the
// changes around t picked here: an account has a few, and five correlated
// subqueries an account (before's time and stage, t's, next's time and
// stage: a row value from a subquery is not portable between SQLite and
// PostgreSQL) cost four times as much.
func readStored(ctx context.Context, q store.Querier, t int64, snaps []snapshot.Snapshot) (map[string]stored, error) {
	out := make(map[string]stored, len(snaps))
	for part := range slices.Chunk(snaps, store.MaxInList) {
		ids := snapshot.IDs(part)
		if err := readStoredPart(ctx, q, t, ids, out); err != nil {
			return nil, fmt.Errorf("read stage history: %w", err)
		}
	}
	return out, nil
}

func readStoredPart(ctx context.Context, q store.Querier, t int64, ids []string, out map[string]stored) error {
	cond, args, err := account.Where(ctx, q, "account_id", ids, 1)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT account_id, at, stage_id FROM stage_history WHERE `+cond+` ORDER BY account_id, at`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id, stage string
	var at int64
	for rows.Next() {
		if err := rows.Scan(&id, &at, &stage); err != nil {
			return err
		}
		h := out[id]
		switch {
		case at < t: // in time order: the last one before t wins
			h.before, h.beforeAt = stage, at
		case at == t:
			h.same = sql.NullString{String: stage, Valid: true}
		case !h.nextAt.Valid:
			h.nextAt, h.next = sql.NullInt64{Int64: at, Valid: true}, stage
		}
		out[id] = h
	}
	return rows.Err()
}

// key is one history row's key.
type key struct {
	account string
	at      int64
}

// row is one history row.
type row struct {
	account string
	at      int64
	stage   string
}

// writes are a batch's changes to the history, and the accounts whose
// current stage must be brought in line with it.
type writes struct {
	inserts, updates []row
	deletes          []key
	accounts         []string
}

// insertChunk is how many rows one multi-row INSERT carries (see the
// segment stage's writeChunk).
const insertChunk = 64

func (w *writes) apply(ctx context.Context, q store.Querier) error {
	for first := 0; first < len(w.inserts); first += insertChunk {
		chunk := w.inserts[first:min(first+insertChunk, len(w.inserts))]
		args := make([]any, 0, 3*len(chunk))
		var b []byte
		for i, r := range chunk {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = fmt.Appendf(b, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
			args = append(args, r.account, r.at, r.stage)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO stage_history (account_id, at, stage_id) VALUES `+string(b), args...); err != nil {
			return fmt.Errorf("write %d stage changes: %w", len(chunk), err)
		}
	}
	for _, r := range w.updates {
		if _, err := q.ExecContext(ctx, `UPDATE stage_history SET stage_id = $3 WHERE account_id = $1 AND at = $2`, r.account, r.at, r.stage); err != nil {
			return fmt.Errorf("rewrite the stage of %s: %w", r.account, err)
		}
	}
	for _, k := range w.deletes {
		if _, err := q.ExecContext(ctx, `DELETE FROM stage_history WHERE account_id = $1 AND at = $2`, k.account, k.at); err != nil {
			return fmt.Errorf("merge the stages of %s: %w", k.account, err)
		}
	}
	// The current stage is the latest change of the whole history (a
	// backfill may have written an earlier one), so it is read back.
	for first := 0; first < len(w.accounts); first += store.MaxInList {
		chunk := w.accounts[first:min(first+store.MaxInList, len(w.accounts))]
		args := make([]any, len(chunk))
		for i, a := range chunk {
			args[i] = a
		}
		in := store.Placeholders(1, len(chunk))
		if _, err := q.ExecContext(ctx, `DELETE FROM account_stages WHERE account_id IN (`+in+`)`, args...); err != nil {
			return fmt.Errorf("write current stages: %w", err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO account_stages (account_id, stage_id, entered_at)
			SELECT h.account_id, h.stage_id, h.at FROM stage_history h
			WHERE h.account_id IN (`+in+`) AND h.stage_id <> ''
				AND h.at = (SELECT MAX(m.at) FROM stage_history m WHERE m.account_id = h.account_id)`, args...); err != nil {
			return fmt.Errorf("write current stages: %w", err)
		}
	}
	return nil
}

// Refresh classifies snaps (every account's snapshot, as snapshot.All
// returns them) with the stored rules and records the changes at instant
// at: what saving or deleting a stage does, so that the change is live at
// once rather than at the next recompute. It returns how many accounts
// changed stage.
func Refresh(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) (int, error) {
	st, err := NewStage(ctx, q)
	if err != nil {
		return 0, err
	}
	for first := 0; first < len(snaps); first += store.MaxInList {
		if err := st.Apply(ctx, q, at, snaps[first:min(first+store.MaxInList, len(snaps))]); err != nil {
			return 0, err
		}
	}
	return st.Changed, nil
}
