package usage

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// The rollup journal. Writing a round's rollups into usage_daily and the
// user-days (then usage_daily_users) took half of the CPU time of /v1/batch (20 against 10
// µs an event on SQLite), and the same accounts, days and events come back
// round after round. A Session with DeferRollups therefore writes each
// round's rollup delta as one row of usage_rollup_journal, in the round's
// transaction, and ApplyJournal adds the rows to the rollup tables and
// deletes them, in one transaction, some rounds later. An event is thus in
// the rollups exactly once: its round's row is committed with it, and a row
// is deleted by the transaction that applies it, whoever runs it (the writer
// that wrote it, or another process or a restart after a crash). Until then
// the rollups lag the events.

// DeferRollups makes the Session's later transactions journal their rollup
// deltas instead of writing them (see ApplyJournal).
func (s *Session) DeferRollups() { s.journal = true }

// PaceRollups makes the journal applies of the Session pause for pause
// after each pause of summing the journal's deltas, and on PostgreSQL
// write their rollup rows paceRows at a time, pausing between the
// statements of their transaction: a few seconds of rounds sum to tens of
// thousands of rows, and upserting them at once took a core for 200 to 500
// ms, during which the rounds beside it, short of CPU on a small machine,
// answered up to a tenth of a second late. Spread so, they take longer and
// the rounds keep their pace. The apply's transaction stays open the while;
// nothing waits for it but a group call's attribution of the same rows.
// SQLite, one writer at a time, applies in parts between the rounds
// instead (see the ingest package).
func (s *Session) PaceRollups(pause time.Duration) { s.pace = pause }

// ApplyJournal adds the journal's rollup deltas to the rollup tables and
// deletes them, in one transaction on the Session's connection, and returns
// the accounts whose rollups it changed. The previous transaction must have
// ended.
func (s *Session) ApplyJournal(ctx context.Context) ([]string, error) {
	if err := s.reconnect(ctx); err != nil {
		return nil, fmt.Errorf("apply rollup journal: %w", err)
	}
	accounts, err := applyJournal(ctx, s, `DELETE FROM usage_rollup_journal RETURNING id, delta`)
	if err != nil {
		return nil, fmt.Errorf("apply rollup journal: %w", err)
	}
	return accounts, nil
}

// ApplyJournal is Session.ApplyJournal on a connection of db's, when the
// journal has rows: for a process that reads the rollups without the
// ingestion writer (the command line), after a server was killed.
func ApplyJournal(ctx context.Context, db *store.DB) ([]string, error) {
	var rows bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM usage_rollup_journal)`).Scan(&rows); err != nil {
		return nil, fmt.Errorf("apply rollup journal: %w", err)
	}
	if !rows {
		return nil, nil
	}
	s, err := NewSession(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("apply rollup journal: %w", err)
	}
	defer s.Close()
	return s.ApplyJournal(ctx)
}

// ApplyJournalRow is ApplyJournal for the one row id (from Session.Compact);
// nothing when it is gone already.
func (s *Session) ApplyJournalRow(ctx context.Context, id int64) ([]string, error) {
	if err := s.reconnect(ctx); err != nil {
		return nil, fmt.Errorf("apply rollup journal: %w", err)
	}
	accounts, err := applyJournal(ctx, s, `DELETE FROM usage_rollup_journal WHERE id = $1 RETURNING id, delta`, id)
	if err != nil {
		return nil, fmt.Errorf("apply rollup journal row %d: %w", id, err)
	}
	return accounts, nil
}

// A Compaction is the sum of some journal rows, in rows of at most a
// number of keys, prepared by PrepareCompaction off the writer's path and
// put in their place by Session.Compact. Applying a second of rounds in one
// transaction held SQLite's one writer for a quarter of a second; applied
// a compacted row after each round, the rollups hold up no round for long,
// and reading and summing the rows (tens of milliseconds) happens beside
// the rounds, not between them.
type Compaction struct {
	ids   []int64  // the rows summed
	parts [][]byte // their sum
}

// Rows is how many journal rows c sums.
func (c *Compaction) Rows() int { return len(c.ids) }

// IDs are the ids of the rows c sums, in order.
func (c *Compaction) IDs() []int64 { return slices.Clone(c.ids) }

// Gains reports whether c has fewer rows than the rows it sums: else
// Compact would only rewrite them.
func (c *Compaction) Gains() bool { return len(c.parts) < len(c.ids) }

// PrepareCompaction reads the journal's committed rows, outside any write
// transaction, and sums them into deltas of at most maxKeys keys. With a
// pace, summing pauses as in PaceRollups.
func PrepareCompaction(ctx context.Context, db *store.DB, maxKeys int, pace time.Duration) (*Compaction, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, delta FROM usage_rollup_journal ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("compact rollup journal: %w", err)
	}
	c := &Compaction{}
	var r rollup
	r.init()
	paced := pacer(pace)
	err = scanJournal(rows, &r, func(id int64) {
		c.ids = append(c.ids, id)
		paced()
	})
	if err != nil {
		return nil, fmt.Errorf("compact rollup journal: %w", err)
	}
	for _, part := range r.parts(maxKeys) {
		c.parts = append(c.parts, part.appendTo(nil))
	}
	return c, nil
}

// Compact replaces c's rows by their sum, in one transaction, and returns
// the new rows' ids; none when one of c's rows is gone (another process
// applied it since): then nothing changed.
func (s *Session) Compact(ctx context.Context, c *Compaction) ([]int64, error) {
	if err := s.reconnect(ctx); err != nil {
		return nil, fmt.Errorf("compact rollup journal: %w", err)
	}
	ids, err := compact(ctx, s, c)
	if err != nil {
		return nil, fmt.Errorf("compact rollup journal: %w", err)
	}
	return ids, nil
}

func compact(ctx context.Context, s *Session, c *Compaction) ([]int64, error) {
	if len(c.ids) == 0 {
		return nil, nil
	}
	p := &Pending{conn: s.conn, sess: s}
	var err error
	if p.tx, err = s.conn.BeginTx(ctx, nil); err != nil {
		p.end(err)
		return nil, err
	}
	fail := func(err error) ([]int64, error) {
		p.tx.Rollback()
		p.end(err)
		return nil, err
	}
	del, err := p.tx.PrepareContext(ctx, `DELETE FROM usage_rollup_journal WHERE id = $1`)
	if err != nil {
		return fail(err)
	}
	defer del.Close()
	for _, id := range c.ids {
		res, err := del.ExecContext(ctx, id)
		if err != nil {
			return fail(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			p.Rollback() // gone: c no longer sums the journal
			return nil, err
		}
	}
	ins, err := p.tx.PrepareContext(ctx, `INSERT INTO usage_rollup_journal (delta) VALUES ($1) RETURNING id`)
	if err != nil {
		return fail(err)
	}
	defer ins.Close()
	ids := make([]int64, len(c.parts))
	for i, b := range c.parts {
		if err := ins.QueryRowContext(ctx, b).Scan(&ids[i]); err != nil {
			return fail(err)
		}
	}
	if _, err := p.CommitNoSync(); err != nil {
		return nil, err
	}
	return ids, nil
}

// reconnect replaces a connection a failed transaction may have broken.
func (s *Session) reconnect(ctx context.Context) error {
	if !s.broken {
		return nil
	}
	s.Close()
	return s.connect(ctx)
}

// pause is time.Sleep; tests count the pauses.
var pause = time.Sleep

// readJournal runs query, a DELETE … RETURNING id, delta, and adds the
// deltas to r; it returns how many rows it deleted. With a pace, it pauses
// for that long after each pace of summing (Session.PaceRollups): a few
// seconds of rounds' deltas took the Go side 150 to 220 ms to sum.
func readJournal(ctx context.Context, tx *sql.Tx, r *rollup, pace time.Duration, query string, args ...any) (int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n := 0
	paced := pacer(pace)
	err = scanJournal(rows, r, func(int64) {
		n++
		paced()
	})
	return n, err
}

// pacer returns a function to call after each piece of some work: it
// pauses for pace once the work since the last pause has taken pace, so
// that the work takes at most half a core. A pace of 0 never pauses.
func pacer(pace time.Duration) func() {
	since := time.Now()
	return func() {
		if pace > 0 && time.Since(since) >= pace {
			pause(pace)
			since = time.Now()
		}
	}
}

func applyJournal(ctx context.Context, s *Session, query string, args ...any) ([]string, error) {
	p := &Pending{conn: s.conn, sess: s}
	var err error
	if p.tx, err = s.conn.BeginTx(ctx, nil); err != nil {
		p.end(err)
		return nil, err
	}
	w := NewWriter(s.db, s.conn, p.tx)
	w.useSession(s)
	w.pace = s.pace
	n, err := readJournal(ctx, p.tx, &w.agg, s.pace, query, args...)
	if err != nil || n == 0 {
		w.Abort()
		p.tx.Rollback()
		p.end(err)
		return nil, err
	}
	accounts := slices.Clone(w.agg.accounts.names)
	if _, err := w.Close(ctx); err != nil {
		p.tx.Rollback()
		p.end(err)
		return nil, err
	}
	// Not synced: a lost apply (a power cut) loses its journal rows' deletion
	// with it, and nothing acknowledged waits for it.
	if _, err := p.CommitNoSync(); err != nil {
		return nil, err
	}
	slices.Sort(accounts)
	return accounts, nil
}

// scanJournal adds the deltas of rows (id, delta) to r, calling row with
// each id, and closes rows.
func scanJournal(rows *sql.Rows, r *rollup, row func(id int64)) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var delta []byte
		if err := rows.Scan(&id, &delta); err != nil {
			return err
		}
		if err := r.mergeDelta(delta); err != nil {
			return fmt.Errorf("journal row %d: %w", id, err)
		}
		row(id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

// A delta is the folded rollup of one round: its names, then its daily
// counts as (account, event, day, count) and its user-days as (account,
// user, day), all in unsigned varints but the days (signed).
const deltaVersion = 1

// deltaPart is a delta to encode: names by id, and keys of those ids.
type deltaPart struct {
	names  [3][]string // accounts, events, users
	daily  []rkey      // (account, event, day)
	counts []int64
	active []rkey // (account, user, day)
}

// encodeDelta appends the folded rollup to b.
func (r *rollup) encodeDelta(b []byte) []byte {
	r.fold()
	return deltaPart{[3][]string{r.accounts.names, r.events.names, r.users.names}, r.daily, r.counts, r.active}.appendTo(b)
}

func (d deltaPart) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, deltaVersion)
	for _, names := range d.names {
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, s := range names {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(d.daily)))
	for i, k := range d.daily {
		b = binary.AppendUvarint(b, uint64(k[0]))
		b = binary.AppendUvarint(b, uint64(k[1]))
		b = binary.AppendVarint(b, int64(k[2]))
		b = binary.AppendUvarint(b, uint64(d.counts[i]))
	}
	b = binary.AppendUvarint(b, uint64(len(d.active)))
	for _, k := range d.active {
		b = binary.AppendUvarint(b, uint64(k[0]))
		b = binary.AppendUvarint(b, uint64(k[1]))
		b = binary.AppendVarint(b, int64(k[2]))
	}
	return b
}

// parts splits the folded rollup into deltas of at most max keys, each
// with the names it uses.
func (r *rollup) parts(max int) []deltaPart {
	r.fold()
	var out []deltaPart
	var cur deltaPart
	var local [3]map[int32]int32
	id := func(kind int, of int32, names []string) int32 {
		if v, ok := local[kind][of]; ok {
			return v
		}
		v := int32(len(cur.names[kind]))
		local[kind][of] = v
		cur.names[kind] = append(cur.names[kind], names[of])
		return v
	}
	keys := 0
	next := func() {
		if keys > 0 {
			out = append(out, cur)
		}
		cur, keys = deltaPart{}, 0
		for i := range local {
			local[i] = map[int32]int32{}
		}
	}
	next()
	for i, k := range r.daily {
		if keys == max {
			next()
		}
		cur.daily = append(cur.daily, rkey{id(0, k[0], r.accounts.names), id(1, k[1], r.events.names), k[2]})
		cur.counts = append(cur.counts, r.counts[i])
		keys++
	}
	for _, k := range r.active {
		if keys == max {
			next()
		}
		cur.active = append(cur.active, rkey{id(0, k[0], r.accounts.names), id(2, k[1], r.users.names), k[2]})
		keys++
	}
	next()
	return out
}

var errDelta = errors.New("malformed rollup delta")

// deltaReader reads a delta, remembering the first error.
type deltaReader struct {
	b   []byte
	err error
}

func (d *deltaReader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = errDelta, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *deltaReader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = errDelta, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// id reads an index below n.
func (d *deltaReader) id(n int) int {
	v := d.uvarint()
	if v >= uint64(n) {
		d.err, d.b = errDelta, nil
		return 0
	}
	return int(v)
}

// count reads a length that must fit in what is left (each item takes a
// byte at least), so that a damaged row cannot make us allocate much.
func (d *deltaReader) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.err, d.b = errDelta, nil
		return 0
	}
	return int(v)
}

// mergeDelta adds an encoded delta to the rollup.
func (r *rollup) mergeDelta(b []byte) error {
	d := deltaReader{b: b}
	if v := d.uvarint(); d.err == nil && v != deltaVersion {
		return fmt.Errorf("rollup delta version %d, want %d", v, deltaVersion)
	}
	var ids [3][]int32 // the delta's ids as the rollup's
	for i, in := range []*interner{&r.accounts, &r.events, &r.users} {
		n := d.count()
		ids[i] = make([]int32, n)
		for j := range n {
			l := d.count()
			if d.err != nil {
				return d.err
			}
			ids[i][j] = in.idBytes(d.b[:l])
			d.b = d.b[l:]
		}
	}
	if r.weighted == nil {
		r.weighted = map[rkey]int64{}
	}
	for range d.count() {
		a, e, day := d.id(len(ids[0])), d.id(len(ids[1])), d.varint()
		n := d.uvarint()
		if d.err != nil {
			return d.err
		}
		r.weighted[rkey{ids[0][a], ids[1][e], int32(day)}] += int64(n)
	}
	active := d.count()
	for range active {
		a, u, day := d.id(len(ids[0])), d.id(len(ids[2])), d.varint()
		if d.err != nil {
			return d.err
		}
		r.activeNew = append(r.activeNew, rkey{ids[0][a], ids[2][u], int32(day)})
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) > 0 {
		return fmt.Errorf("%w: %d bytes after the end", errDelta, len(d.b))
	}
	return nil // folded when taken: summing in a map and sorting once was a fifth of sorting each delta
}

// foldWeighted merges the deltas' counts into the sorted daily counts.
func (r *rollup) foldWeighted() {
	if len(r.weighted) == 0 {
		return
	}
	keys := make([]rkey, 0, len(r.weighted))
	for k := range r.weighted {
		keys = append(keys, k)
	}
	sortIDs(keys, len(r.accounts.names), len(r.events.names))
	counts := make([]int64, len(keys))
	for i, k := range keys {
		counts[i] = r.weighted[k]
	}
	clear(r.weighted)
	r.mergeDaily(keys, counts)
}

// idBytes is id without a string for a name it has (the map lookup of a
// converted []byte does not allocate).
func (in *interner) idBytes(b []byte) int32 {
	if id, ok := in.ids[string(b)]; ok {
		return id
	}
	return in.id(string(b))
}

// JournalRollups is AddRollups into the rollup journal instead of the
// rollup tables, for a writer beside rounds that defer their rollups
// (DeferRollups): a group call's attribution of a user's earlier events.
// It then neither waits for LockRollups nor holds rollup rows, so a CSV
// import that holds the lock for long does not hold up ingestion. The
// journal is applied with the rounds' deltas.
func JournalRollups(ctx context.Context, q store.Querier, accountID string, counts []DailyCount, users map[int64][]string) error {
	d := deltaPart{names: [3][]string{{accountID}, nil, nil}}
	ids := [3]map[string]int32{nil, {}, {}}
	id := func(kind int, name string) int32 {
		v, ok := ids[kind][name]
		if !ok {
			v = int32(len(d.names[kind]))
			ids[kind][name] = v
			d.names[kind] = append(d.names[kind], name)
		}
		return v
	}
	for _, c := range counts {
		if c.Count < 0 {
			return fmt.Errorf("journal rollups of %s: count %d of %s on day %d is negative", accountID, c.Count, c.Event, c.Day)
		}
		d.daily = append(d.daily, rkey{0, id(1, c.Event), int32(c.Day)})
		d.counts = append(d.counts, c.Count)
	}
	for _, day := range slices.Sorted(maps.Keys(users)) {
		for _, u := range users[day] {
			d.active = append(d.active, rkey{0, id(2, u), int32(day)})
		}
	}
	if len(d.daily)+len(d.active) == 0 {
		return nil
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO usage_rollup_journal (delta) VALUES ($1)`, d.appendTo(nil)); err != nil {
		return fmt.Errorf("journal rollups of %s: %w", accountID, err)
	}
	return nil
}
