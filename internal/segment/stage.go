package segment

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// writeChunk is how many rows one multi-row INSERT carries. 64 rows of 3–4
// columns measured fastest when SQLite looked each $N up by name (quadratic
// in a statement's placeholders); store now numbers them positionally.
const writeChunk = 64

// Stage is the recompute pipeline's segment stage (see internal/recompute):
// it evaluates every segment on each snapshot of a batch, fills
// Snapshot.Segments and writes only the joins and leaves.
type Stage struct {
	segs []compiled
	// Invalid are the stored segments whose rule no longer compiles (a
	// snapshot field was renamed, say), by id. They are skipped, and their
	// stored members kept, instead of stopping the whole recompute.
	Invalid map[string]error
	// Failures counts, per segment id, the accounts on which the rule failed
	// at run time (an attribute of an unexpected type, say); such an account
	// is treated as not a member.
	Failures map[string]int
	// Joined and Left count the membership changes written.
	Joined, Left int
}

type compiled struct {
	id   string
	rule *rule.Rule
}

// NewStage loads and compiles every segment once for a recompute.
func NewStage(ctx context.Context, q store.Querier) (*Stage, error) {
	list, err := List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("segment stage: %w", err)
	}
	st := &Stage{Invalid: map[string]error{}, Failures: map[string]int{}}
	for _, s := range list {
		r, err := Compile(s.Rule)
		if err != nil {
			st.Invalid[s.ID] = err
			continue
		}
		st.segs = append(st.segs, compiled{s.ID, r})
	}
	return st, nil
}

// Name is the stage's name in the pipeline.
func (st *Stage) Name() string { return "segment" }

// Apply evaluates the segments on one batch (snapshots in account_id
// order), sets each snapshot's Segments (segment ids in id order) and
// writes the changes of membership with one read of the batch's current
// memberships and a few bulk writes.
func (st *Stage) Apply(ctx context.Context, q store.Querier, at time.Time, snaps []snapshot.Snapshot) error {
	if len(snaps) == 0 {
		return nil
	}
	current, err := batchMembers(ctx, q, snaps)
	if err != nil {
		return fmt.Errorf("segment stage: %w", err)
	}
	var changes []change
	for i := range snaps {
		s := &snaps[i]
		s.Segments = s.Segments[:0]
		if s.Segments == nil {
			s.Segments = []string{}
		}
		was := current[s.AccountID]
		for _, seg := range st.segs {
			ok, err := seg.rule.Match(s)
			if err != nil {
				st.Failures[seg.id]++
				ok = false
			}
			if ok {
				s.Segments = append(s.Segments, seg.id)
			}
			if ok != was[seg.id] {
				changes = append(changes, change{seg.id, s.AccountID, ok})
			}
		}
	}
	if err := writeChanges(ctx, q, at, changes); err != nil {
		return fmt.Errorf("segment stage: %w", err)
	}
	for _, c := range changes {
		if c.joined {
			st.Joined++
		} else {
			st.Left++
		}
	}
	return nil
}

// batchMembers reads the stored memberships of the batch's accounts:
// account → segment id → true (see account.Where: a recompute's batch is
// read by key range, the accounts whose data just changed by IN list).
func batchMembers(ctx context.Context, q store.Querier, snaps []snapshot.Snapshot) (map[string]map[string]bool, error) {
	in := make(map[string]bool, len(snaps))
	for _, s := range snaps {
		in[s.AccountID] = true
	}
	out := map[string]map[string]bool{}
	read := func(query string, args ...any) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("read memberships: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var seg, acct string
			if err := rows.Scan(&seg, &acct); err != nil {
				return fmt.Errorf("read memberships: %w", err)
			}
			if !in[acct] {
				continue
			}
			if out[acct] == nil {
				out[acct] = map[string]bool{}
			}
			out[acct][seg] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read memberships: %w", err)
		}
		return nil
	}
	for part := range slices.Chunk(snaps, store.MaxInList) {
		ids := snapshot.IDs(part)
		cond, args, err := account.Where(ctx, q, "account_id", ids, 1)
		if err != nil {
			return nil, fmt.Errorf("read memberships: %w", err)
		}
		if err := read(`SELECT segment_id, account_id FROM segment_members WHERE `+cond, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// change is one account joining or leaving one segment.
type change struct {
	segment, account string
	joined           bool
}

// writeChanges applies joins and leaves to segment_members and records
// them in segment_history, at instant at.
func writeChanges(ctx context.Context, q store.Querier, at time.Time, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	ts := at.Unix()
	var joins []change
	leaves := map[string][]string{}
	for _, c := range changes {
		if c.joined {
			joins = append(joins, c)
		} else {
			leaves[c.segment] = append(leaves[c.segment], c.account)
		}
	}
	joinSQL := func(n int) string {
		return `INSERT INTO segment_members (segment_id, account_id, since) VALUES ` + tuples(n, 3) +
			` ON CONFLICT (segment_id, account_id) DO NOTHING`
	}
	err := inChunks(ctx, q, joins, joinSQL, func(c change, args []any) []any {
		return append(args, c.segment, c.account, ts)
	})
	if err != nil {
		return fmt.Errorf("write %d joins: %w", len(joins), err)
	}
	segs := make([]string, 0, len(leaves))
	for s := range leaves {
		segs = append(segs, s)
	}
	sort.Strings(segs)
	for _, seg := range segs {
		for chunk := range chunks(leaves[seg], store.MaxInList-1) {
			args := make([]any, 0, len(chunk)+1)
			args = append(args, seg)
			for _, a := range chunk {
				args = append(args, a)
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM segment_members WHERE segment_id = $1 AND account_id IN (`+
				store.Placeholders(2, len(chunk))+`)`, args...); err != nil {
				return fmt.Errorf("write %d leaves of %s: %w", len(chunk), seg, err)
			}
		}
	}
	historySQL := func(n int) string {
		return `INSERT INTO segment_history (segment_id, account_id, at, event) VALUES ` + tuples(n, 4) + ` ON CONFLICT DO NOTHING`
	}
	err = inChunks(ctx, q, changes, historySQL, func(c change, args []any) []any {
		ev := "left"
		if c.joined {
			ev = "joined"
		}
		return append(args, c.segment, c.account, ts, ev)
	})
	if err != nil {
		return fmt.Errorf("write %d history events: %w", len(changes), err)
	}
	return nil
}

// preparer is what *sql.DB, *sql.Conn and *sql.Tx offer beyond store.Querier.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// inChunks runs the multi-row statement query(n) over rows in chunks of
// writeChunk, with the arguments add appends for each row. The full-size
// statement is prepared once when q can prepare: parsing a statement of a
// few hundred $N placeholders costs SQLite more than running it.
func inChunks(ctx context.Context, q store.Querier, rows []change, query func(n int) string, add func(change, []any) []any) error {
	var stmt *sql.Stmt
	if p, ok := q.(preparer); ok && len(rows) >= 2*writeChunk {
		var err error
		if stmt, err = p.PrepareContext(ctx, query(writeChunk)); err != nil {
			return err
		}
		defer stmt.Close()
	}
	var args []any
	for chunk := range chunks(rows, writeChunk) {
		args = args[:0]
		for _, c := range chunk {
			args = add(c, args)
		}
		var err error
		if stmt != nil && len(chunk) == writeChunk {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = q.ExecContext(ctx, query(len(chunk)), args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// chunks yields s in pieces of at most n.
func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// tuples is "($1, $2), ($3, $4)" for rows=2, cols=2.
func tuples(rows, cols int) string {
	b := make([]byte, 0, rows*cols*6)
	for r := range rows {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		b = append(b, store.Placeholders(r*cols+1, cols)...)
		b = append(b, ')')
	}
	return string(b)
}

// Refresh brings one segment's stored membership up to date with snaps
// (every account's snapshot, as snapshot.All returns them), writing the
// joins and leaves at instant at: what saving a segment does, so it is
// live at once rather than at the next recompute.
func Refresh(ctx context.Context, q store.Querier, id string, at time.Time, snaps []snapshot.Snapshot) (joined, left int, err error) {
	s, err := Get(ctx, q, id)
	if err != nil {
		return 0, 0, err
	}
	r, err := Compile(s.Rule)
	if err != nil {
		return 0, 0, fmt.Errorf("refresh segment %s: %w", id, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT account_id FROM segment_members WHERE segment_id = $1`, id)
	if err != nil {
		return 0, 0, fmt.Errorf("refresh segment %s: %w", id, err)
	}
	stored, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (string, error) {
		var a string
		return a, sc.Scan(&a)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("refresh segment %s: %w", id, err)
	}
	was := make(map[string]bool, len(stored))
	for _, a := range stored {
		was[a] = true
	}
	var changes []change
	for i := range snaps {
		ok, err := r.Match(&snaps[i])
		if err != nil {
			ok = false // as in the stage: a failing rule does not make a member
		}
		acct := snaps[i].AccountID
		if ok != was[acct] {
			changes = append(changes, change{id, acct, ok})
		}
	}
	for _, c := range changes {
		if c.joined {
			joined++
		} else {
			left++
		}
	}
	if err := writeChanges(ctx, q, at, changes); err != nil {
		return 0, 0, fmt.Errorf("refresh segment %s: %w", id, err)
	}
	return joined, left, nil
}

// Evaluate returns the ids of the accounts among snaps that match the
// segment's rule now, in the order of snaps: the live membership.
func Evaluate(s Segment, snaps []snapshot.Snapshot) ([]string, error) {
	r, err := Compile(s.Rule)
	if err != nil {
		return nil, fmt.Errorf("evaluate segment %s: %w", s.ID, err)
	}
	out := []string{}
	for i := range snaps {
		if ok, err := r.Match(&snaps[i]); err == nil && ok {
			out = append(out, snaps[i].AccountID)
		}
	}
	return out, nil
}

// Fill sets each snapshot's Segments from the stored membership (segment
// ids in id order) with one read per batch: for snapshots computed outside
// the recompute, such as GET /api/v1/accounts/{id}/snapshot, whose segments
// field means "as of the latest recompute".
func Fill(ctx context.Context, q store.Querier, snaps []snapshot.Snapshot) error {
	for first := 0; first < len(snaps); first += store.MaxInList {
		batch := snaps[first:min(first+store.MaxInList, len(snaps))]
		current, err := batchMembers(ctx, q, batch)
		if err != nil {
			return fmt.Errorf("fill segments: %w", err)
		}
		for i := range batch {
			ids := make([]string, 0, len(current[batch[i].AccountID]))
			for id := range current[batch[i].AccountID] {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			batch[i].Segments = ids
		}
	}
	return nil
}
