package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Stage is the health stage of the recompute pipeline: it scores a batch of
// snapshots, fills their health fields for later stages and stores the
// scores.
//
// A daily run rewrites an account's current row only when its score, band,
// model or override, or a measure's score, weight, share or points changed:
// the measures' values (tenure, the counts of the last 30 days) move every
// day while most scores do not. Rewriting every row took the stage 24-27 s
// of a daily run at a million accounts, against 5 s now (the run 58-62 s
// against 53-55 s). The row keeps the values of the day it was
// written (its day); Finish records the day the run scored everyone
// through (see ScoredThrough). A partial run (Partial: the accounts whose
// data changed) rewrites whatever changed, values too, so that new data
// shows in the explanation at once.
type Stage struct {
	scorer    *Scorer
	overrides map[string][]Override // by account, oldest first
	// Partial is set for a recompute of only some accounts.
	Partial bool
}

// NewStage loads the models and the overrides once per run.
func NewStage(ctx context.Context, q store.Querier) (*Stage, error) {
	ms, err := Models(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("health stage: %w", err)
	}
	sc, err := NewScorer(ms)
	if err != nil {
		return nil, fmt.Errorf("health stage: stored models: %w", err)
	}
	// Overrides are few (people set them by hand): all of them, so that any
	// instant of the run finds the one in force.
	rows, err := q.QueryContext(ctx, `SELECT `+overrideColumns+` FROM health_overrides ORDER BY account_id, set_at`)
	if err != nil {
		return nil, fmt.Errorf("health stage: overrides: %w", err)
	}
	os, err := store.Collect(rows, scanOverride)
	if err != nil {
		return nil, fmt.Errorf("health stage: overrides: %w", err)
	}
	st := &Stage{scorer: sc, overrides: map[string][]Override{}}
	for _, o := range os {
		st.overrides[o.AccountID] = append(st.overrides[o.AccountID], o)
	}
	return st, nil
}

// Name is the stage's name in the pipeline.
func (st *Stage) Name() string { return "health" }

// override is the override of accountID in force at at, or nil.
func (st *Stage) override(accountID string, at time.Time) *Override {
	list := st.overrides[accountID]
	for i := len(list) - 1; i >= 0; i-- {
		o := &list[i]
		if !o.SetAt.After(at) && o.ExpiresAt.After(at) && (o.ClearedAt == nil || o.ClearedAt.After(at)) {
			return o
		}
	}
	return nil
}

// row is one account's score as stored in health_current and health_scores.
type row struct {
	accountID     string
	modelID       string
	score         float64
	band          string
	previousBand  string
	day           int64
	computed      float64
	overridden    int
	contributions string
}

// Apply scores snaps (one batch, as of at), fills their HealthScore,
// HealthBand and HealthBandPrevious, and writes what changed.
func (st *Stage) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	rows, err := st.score(at, snaps)
	if err != nil {
		return err
	}
	return st.write(ctx, q, at, snaps, rows)
}

// Prepare scores snaps: the part of Apply that reads nothing (NewStage
// loaded the models and overrides), which the recompute runs on its reader
// goroutines beside the writer (see recompute.Preparer). It reads only the
// fields the snapshot reader computes: health is the pipeline's first stage.
func (st *Stage) Prepare(at time.Time, snaps []snapshot.Snapshot) (any, error) {
	return st.score(at, snaps)
}

// ApplyPrepared is Apply with the scores Prepare computed for snaps.
func (st *Stage) ApplyPrepared(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot, prepared any) error {
	rows, ok := prepared.([]row)
	if len(st.scorer.models) == 0 {
		return nil // nothing was scored
	}
	if !ok || len(rows) != len(snaps) {
		return fmt.Errorf("health stage: prepared %T for a batch of %d", prepared, len(snaps))
	}
	return st.write(ctx, q, at, snaps, rows)
}

// score scores snaps as of at, overrides applied; the previous bands are
// left to write. No models (or no snapshots): no rows.
func (st *Stage) score(at time.Time, snaps []snapshot.Snapshot) ([]row, error) {
	if len(st.scorer.models) == 0 || len(snaps) == 0 {
		return []row{}, nil
	}
	day := store.Day(at.Unix())
	rows := make([]row, len(snaps))
	var buf []byte
	for i := range snaps {
		s := &snaps[i]
		res, _, err := st.scorer.Score(s)
		if err != nil {
			return nil, fmt.Errorf("health stage: %w", err)
		}
		b, err := appendContributions(buf[:0], res.Contributions)
		if err != nil {
			return nil, fmt.Errorf("health stage: %s: %w", s.AccountID, err)
		}
		buf = b
		r := row{accountID: s.AccountID, modelID: res.ModelID, score: res.Score, band: res.Band, day: day,
			computed: res.Score, contributions: string(b)}
		if o := st.override(s.AccountID, at); o != nil {
			r.overridden = 1
			if o.Score != nil {
				r.score, r.band = *o.Score, st.scorer.Band(res.ModelID, *o.Score)
			} else {
				r.band = o.Band
			}
		}
		rows[i] = r
	}
	return rows, nil
}

// write fills snaps' health fields from rows (snaps' scores, in order) and
// the stored scores, and writes what changed.
func (st *Stage) write(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	day := store.Day(at.Unix())
	cur, err := currentRows(ctx, q, snaps)
	if err != nil {
		return err
	}
	// The previous band is that of the latest score of an earlier day. The
	// current row is the latest score, so it answers unless the run goes
	// back in time (a backfill), which asks the history.
	var back []string
	for i := range rows {
		c, ok := cur[rows[i].accountID]
		switch {
		case !ok:
		case c.day < day:
			rows[i].previousBand = c.band
		case c.day == day:
			rows[i].previousBand = c.previousBand
		default:
			back = append(back, rows[i].accountID)
		}
	}
	if len(back) > 0 {
		prev, err := bandsBefore(ctx, q, back, day)
		if err != nil {
			return err
		}
		for i := range rows {
			if b, ok := prev[rows[i].accountID]; ok {
				rows[i].previousBand = b
			}
		}
	}
	var current, history []row
	for i := range rows {
		r := rows[i]
		s := &snaps[i]
		s.HealthScore, s.HealthBand, s.HealthBandPrevious = r.score, r.band, r.previousBand
		c, ok := cur[r.accountID]
		if ok && c == r {
			continue // recomputed the same day with the same result
		}
		if !ok || c.day <= day && st.replaces(&c, &r) {
			current = append(current, r)
		}
		// The history keeps the days on which the score changed: the
		// score on a day is the latest row at or before it. A day that
		// changes nothing adds no row (a daily row an account was most of
		// what a day's recompute wrote, and of the database's growth). A
		// backfill's row is written whatever its neighbours.
		if !ok || c.day > day || !sameScore(&c, &r) {
			history = append(history, r)
		}
	}
	now := store.Now()
	if err := upsert(ctx, q, `INSERT INTO health_current (account_id, model_id, score, band, previous_band, day, computed_score, overridden, contributions, updated_at) VALUES `,
		` ON CONFLICT (account_id) DO UPDATE SET model_id = excluded.model_id, score = excluded.score, band = excluded.band,
		previous_band = excluded.previous_band, day = excluded.day, computed_score = excluded.computed_score,
		overridden = excluded.overridden, contributions = excluded.contributions, updated_at = excluded.updated_at`,
		10, current, func(r *row) []any {
			return []any{r.accountID, r.modelID, r.score, r.band, r.previousBand, r.day, r.computed, r.overridden, r.contributions, now}
		}); err != nil {
		return fmt.Errorf("health stage: current scores: %w", err)
	}
	if err := upsert(ctx, q, `INSERT INTO health_scores (account_id, day, model_id, score, band, computed_score, overridden, contributions) VALUES `,
		` ON CONFLICT (account_id, day) DO UPDATE SET model_id = excluded.model_id, score = excluded.score, band = excluded.band,
		computed_score = excluded.computed_score, overridden = excluded.overridden, contributions = excluded.contributions`,
		8, history, func(r *row) []any {
			return []any{r.accountID, r.day, r.modelID, r.score, r.band, r.computed, r.overridden, r.contributions}
		}); err != nil {
		return fmt.Errorf("health stage: score history: %w", err)
	}
	return nil
}

// replaces reports whether r, a new score, replaces c, the account's
// current row (see Stage).
func (st *Stage) replaces(c, r *row) bool {
	if st.Partial {
		return true
	}
	// The previous band is not compared: stored, it is the band before
	// the row's day, which is all a later day needs (the band the day
	// before is the row's own; GetAccount says so). Compared, the day after
	// a first recompute rewrote every row.
	return !sameScore(c, r) || !sameBesidesValues(c.contributions, r.contributions)
}

// scoredThroughKey is the settings key of the day through which the latest
// full run scored every account (see Finish).
const scoredThroughKey = "health_scored_through"

// Finish records, after a full run's last batch, the day it scored every
// account through: an account's current row may be older (its score has
// not changed since), and its history runs to that day.
func (st *Stage) Finish(ctx context.Context, q store.Querier, at time.Time) error {
	if st.Partial || len(st.scorer.models) == 0 {
		return nil
	}
	day := store.Day(at.Unix())
	through, ok, err := ScoredThrough(ctx, q)
	if err != nil || ok && through >= day {
		return err // a run of an earlier day (a backfill) moves nothing
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, scoredThroughKey, strconv.FormatInt(day, 10)); err != nil {
		return fmt.Errorf("health stage: record the day scored through: %w", err)
	}
	return nil
}

// ScoredThrough returns the day (days since the epoch) through which the
// latest full recompute scored every account, and false before the first.
func ScoredThrough(ctx context.Context, q store.Querier) (int64, bool, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, scoredThroughKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("health scored through: %w", err)
	}
	d, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("health scored through: setting %s is %q: %w", scoredThroughKey, v, err)
	}
	return d, true, nil
}

// sameScore reports whether a and b are the same score: what the history
// records (not the explanation, whose values move every day).
func sameScore(a, b *row) bool {
	return a.modelID == b.modelID && a.score == b.score && a.band == b.band && a.computed == b.computed && a.overridden == b.overridden
}

// upsertRows bounds one multi-row statement. It was chosen small when
// SQLite looked each $N up by name (a statement's cost grew with the
// square of its parameters); store's SQLite connections now number them
// positionally, and a full chunk's statement is prepared once a call.
const upsertRows = 40

// preparer is what *sql.Tx and *sql.DB offer beyond store.Querier.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func upsert(ctx context.Context, q store.Querier, head, tail string, cols int, rows []row, args func(*row) []any) error {
	text := func(n int) string {
		var b strings.Builder
		b.WriteString(head)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			b.WriteString(store.Placeholders(i*cols+1, cols))
			b.WriteString(")")
		}
		b.WriteString(tail)
		return b.String()
	}
	// Full chunks share one prepared statement: parsing is most of the cost.
	var full *sql.Stmt
	if p, ok := q.(preparer); ok && len(rows) >= 2*upsertRows {
		st, err := p.PrepareContext(ctx, text(upsertRows))
		if err != nil {
			return err
		}
		defer st.Close()
		full = st
	}
	vals := make([]any, 0, upsertRows*cols)
	for first := 0; first < len(rows); first += upsertRows {
		chunk := rows[first:min(first+upsertRows, len(rows))]
		vals = vals[:0]
		for i := range chunk {
			vals = append(vals, args(&chunk[i])...)
		}
		var err error
		if full != nil && len(chunk) == upsertRows {
			_, err = full.ExecContext(ctx, vals...)
		} else {
			_, err = q.ExecContext(ctx, text(len(chunk)), vals...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// currentRows reads health_current for the batch's accounts.
func currentRows(ctx context.Context, q store.Querier, snaps []snapshot.Snapshot) (map[string]row, error) {
	out := make(map[string]row, len(snaps))
	for first := 0; first < len(snaps); first += store.MaxInList {
		chunk := snaps[first:min(first+store.MaxInList, len(snaps))]
		ids := snapshot.IDs(chunk)
		cond, args, err := account.Where(ctx, q, "account_id", ids, 1)
		if err != nil {
			return nil, fmt.Errorf("health stage: read current scores: %w", err)
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, model_id, score, band, previous_band, day, computed_score, overridden, contributions
			FROM health_current WHERE `+cond, args...)
		if err != nil {
			return nil, fmt.Errorf("health stage: read current scores: %w", err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.accountID, &r.modelID, &r.score, &r.band, &r.previousBand, &r.day, &r.computed, &r.overridden, &r.contributions); err != nil {
				rows.Close()
				return nil, fmt.Errorf("health stage: read current scores: %w", err)
			}
			out[r.accountID] = r
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("health stage: read current scores: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("health stage: read current scores: %w", err)
		}
	}
	return out, nil
}

// bandsBefore is, per account, the band of its latest score before day.
func bandsBefore(ctx context.Context, q store.Querier, ids []string, day int64) (map[string]string, error) {
	out := map[string]string{}
	for first := 0; first < len(ids); first += store.MaxInList {
		chunk := ids[first:min(first+store.MaxInList, len(ids))]
		args := []any{day}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := q.QueryContext(ctx, `SELECT account_id, band FROM health_scores WHERE day < $1 AND account_id IN (`+
			store.Placeholders(2, len(chunk))+`) ORDER BY account_id, day`, args...)
		if err != nil {
			return nil, fmt.Errorf("health stage: earlier bands: %w", err)
		}
		for rows.Next() {
			var id, band string
			if err := rows.Scan(&id, &band); err != nil {
				rows.Close()
				return nil, fmt.Errorf("health stage: earlier bands: %w", err)
			}
			out[id] = band // day order: the latest wins
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("health stage: earlier bands: %w", err)
		}
	}
	return out, nil
}
