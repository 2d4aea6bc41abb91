package usage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Raw is one event as a [Writer] stores it.
type Raw struct {
	MessageID  string // "" de-duplicates by all the other fields (DedupeKey)
	AccountID  string // "" stores the event with a NULL account, not rolled up
	UserID     string // "" is an anonymous event: counted, not an active user
	Event      string
	TS         int64  // unix seconds
	Properties string // a JSON object; "" is stored as {}
}

// Tuning (variables for the tests). A SQLite statement binds at most 32766
// values; 1000 rows is past the point where larger statements stop paying.
// A chunk's rows go in in message id order (see submitChunk), so SQLite
// chunks take several statements: with ids as random as real ones (UUIDs),
// a million events into SQLite took 2.8-2.9 s in chunks of 16384 against
// 3.1-3.3 s in chunks of 8192 and 3.6-3.9 s in chunks of 1000.
// PostgreSQL chunks are COPYed, so they are larger; larger still because
// each chunk COPYed straight into events spends one of a bounded number of
// savepoints (pgDirectChunks). maxRollupKeys bounds the rollup keys (20
// bytes a daily key, 12 a user-day, and up to foldAt appended keys of 12
// bytes): past it they are written out and emptied, so memory stays flat
// however many events pass through. A lower
// bound costs time: keys that come back after a write are written again
// (1 << 20 made a million events 17% slower; 1 << 21 peaks at about 240 MB
// RSS on ten million).
var (
	sqliteChunk         = 16384
	sqliteStatementRows = 1000
	postgresChunk       = 32768
	rollupBatch         = 1000 // SQLite rows a rollup statement
	maxRollupKeys       = 1 << 21
)

const inFlight = 3 // chunks being filled, written and aggregated at once

// Writer stores events and maintains the daily rollups inside the caller's
// transaction, for the CSV import and [Ingest] alike. Events go in chunks
// straight into the events table, where the database finds those already
// stored (by message id and time); only the new ones are added to the rollups, which
// are aggregated in memory and written in primary key order when they
// grow past a bound and at Close. A repeated event is therefore counted
// exactly once, whether it repeats within the input or was stored before.
//
// The SQL runs on a goroutine of its own, so reading and parsing the next
// rows overlaps with the database work. Add, Close and Abort must be called
// from one goroutine, and the transaction must not be used by anything else
// between NewWriter and Close or Abort. Every Writer must end with one of
// them (until then its goroutine holds the connection); the caller then
// commits or rolls back.
type Writer struct {
	db   *store.DB
	conn *sql.Conn
	tx   *sql.Tx
	now  int64
	size int
	// The Session the Writer writes in, which keeps its SQLite statements
	// and PostgreSQL temporary tables for the next Writers; nil: none.
	sess *Session

	cur    *chunk
	free   []*chunk
	chunks int                   // allocated, at most inFlight
	seen   map[eventKey]struct{} // the events in cur

	jobs    chan *job
	results chan *job
	out     int // jobs sent, not yet received back
	rollOut int // rollup jobs among them
	started bool
	closed  bool // Close or Abort was called: no more rollup jobs
	err     error

	agg      rollup
	inserted int64
	journal  bool          // write the rollup into usage_rollup_journal (Session.DeferRollups)
	pace     time.Duration // PostgreSQL: pause between rollup statements of paceRows (Session.PaceRollups)

	// Set by the SQL side, read after Close (tests): PostgreSQL chunks
	// COPYed into events directly and through the temporary table.
	directChunks, tableChunks int
}

// eventKey is what tells events apart: the events table's key (migration
// 41). A retry sends the same message, time and id, again.
type eventKey struct {
	ts int64
	id string
}

// chunk is a batch of events on its way to the database.
type chunk struct {
	rows  []Raw
	plain bool  // every row has properties {}
	args  []any // SQLite: the bound values, built on the Add side

	// Set by the SQL side.
	all   bool    // every row was new
	fresh []Raw   // otherwise the new rows (SQLite)
	dups  []int32 // otherwise the rows already stored (PostgreSQL)
}

// job is one unit of SQL work.
type job struct {
	c   *chunk
	d   *dailyBatch
	u   *activeBatch
	err error
}

// sqlSide is the dialect's half of the Writer; it runs on the goroutine.
type sqlSide interface {
	chunk(ctx context.Context, c *chunk) error
	daily(ctx context.Context, b *dailyBatch) error
	active(ctx context.Context, b *activeBatch) error
	close()
}

// NewWriter returns a Writer that writes in tx, which must run on conn.
func NewWriter(db *store.DB, conn *sql.Conn, tx *sql.Tx) *Writer {
	w := &Writer{db: db, conn: conn, tx: tx, now: store.Now(), size: sqliteChunk, seen: map[eventKey]struct{}{}}
	if db.Dialect == store.Postgres {
		w.size = postgresChunk
	}
	w.agg.init()
	return w
}

// Add queues one event. It fails with the first database error of an
// earlier chunk; the caller then calls Abort.
func (w *Writer) Add(ctx context.Context, e Raw) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("usage writer: Add after Close")
	}
	if e.Properties == "" {
		e.Properties = "{}"
	}
	if e.MessageID == "" {
		e.MessageID = DedupeKey("", e.AccountID, e.UserID, e.Event, e.TS, e.Properties)
	}
	if d := store.Day(e.TS); d < math.MinInt32 || d > math.MaxInt32 {
		return fmt.Errorf("usage writer: timestamp %d is out of range", e.TS)
	}
	if w.cur == nil {
		if err := w.nextChunk(); err != nil {
			return err
		}
	}
	// An event repeated within the chunk is dropped here, so that a chunk is
	// usually all new or all stored, which the SQL side detects cheaply.
	k := eventKey{e.TS, e.MessageID}
	if _, dup := w.seen[k]; dup {
		return nil
	}
	w.seen[k] = struct{}{}
	w.cur.rows = append(w.cur.rows, e)
	if len(w.cur.rows) < w.size {
		return nil
	}
	w.submitChunk(ctx)
	return w.nextChunk()
}

// nextChunk takes a free chunk, waiting for the SQL side to return one
// when all of them are out.
func (w *Writer) nextChunk() error {
	for len(w.free) == 0 && w.chunks >= inFlight && w.out > 0 {
		w.receive()
	}
	if w.err != nil {
		return w.err
	}
	if n := len(w.free); n > 0 {
		w.cur = w.free[n-1]
		w.free = w.free[:n-1]
	} else if w.sess != nil && len(w.sess.chunks) > 0 {
		k := len(w.sess.chunks) - 1
		w.cur, w.sess.chunks = w.sess.chunks[k], w.sess.chunks[:k]
		w.chunks++
	} else {
		w.cur = &chunk{rows: make([]Raw, 0, w.size)}
		w.chunks++
	}
	clear(w.seen)
	return nil
}

// submitChunk hands the current chunk to the SQL goroutine.
func (w *Writer) submitChunk(ctx context.Context) {
	c := w.cur
	w.cur = nil
	// In key order the rows reach the unique index's pages one after the
	// other: message ids are random, and a file's rows are not in time
	// order (a million UUID-keyed events into PostgreSQL, sorted by id
	// under the key message_id: 2.8 s against 3.2-3.6 s). Nothing depends
	// on the order of a chunk's rows.
	slices.SortFunc(c.rows, func(a, b Raw) int {
		if c := cmp.Compare(a.TS, b.TS); c != 0 {
			return c
		}
		return strings.Compare(a.MessageID, b.MessageID)
	})
	w.prepare(c)
	w.send(ctx, &job{c: c})
}

func (w *Writer) send(ctx context.Context, j *job) {
	if j.u != nil && w.sess != nil {
		w.sess.known.filter(j.u)
		if j.u.keys.len() == 0 {
			return
		}
	}
	w.start(ctx)
	w.jobs <- j
	w.out++
	if j.c == nil {
		w.rollOut++
	}
}

// start starts the SQL goroutine. On SQLite it works on the driver's
// connection directly (inside conn.Raw, in the caller's transaction): that
// skips database/sql's per-argument conversions, a tenth of the time.
func (w *Writer) start(ctx context.Context) {
	if w.started {
		return
	}
	w.started = true
	// Room for every job that can be out at once (inFlight chunks, a daily
	// and an active-users batch), so neither side blocks on a send.
	w.jobs = make(chan *job, inFlight+2)
	w.results = make(chan *job, inFlight+2)
	go func() {
		defer close(w.results)
		var failed error
		loop := func(side sqlSide) {
			for j := range w.jobs {
				if failed == nil {
					switch {
					case j.c != nil:
						failed = side.chunk(ctx, j.c)
					case j.d != nil:
						failed = side.daily(ctx, j.d)
					default:
						failed = side.active(ctx, j.u)
					}
				}
				j.err = failed
				w.results <- j
			}
			side.close()
		}
		if w.db.Dialect == store.Postgres {
			loop(&pgSide{w: w})
			return
		}
		ran := false
		err := w.conn.Raw(func(dc any) error {
			ran = true
			side := &sqliteSide{w: w, dc: dc}
			if w.sess != nil {
				side.stmts, side.kept = w.sess.stmts, true
				side.named, side.args = w.sess.named, w.sess.args
			}
			loop(side)
			return nil
		})
		if !ran {
			failed = fmt.Errorf("store events: %w", err)
			loop(nopSide{})
		}
	}()
}

// receive takes one finished job back: a chunk's new events go into the
// rollups (which may start a rollup write) and the chunk is reused.
func (w *Writer) receive() {
	j, ok := <-w.results
	if !ok {
		w.out, w.rollOut = 0, 0
		return
	}
	w.out--
	if j.c == nil {
		w.rollOut--
	}
	if j.err != nil && w.err == nil {
		w.err = j.err
	}
	if j.c == nil {
		return
	}
	if j.err == nil {
		w.collect(j.c)
	}
	w.free = append(w.free, j.c)
	// A journaled round's keys stay in memory: a round is bounded (the
	// group-commit writer's MaxBatch).
	if w.err == nil && !w.closed && !w.journal && w.rollOut == 0 && w.agg.over(maxRollupKeys) {
		w.agg.take(func(j *job) { w.send(context.Background(), j) })
	}
}

// collect adds a written chunk's new events to the rollups.
func (w *Writer) collect(c *chunk) {
	switch {
	case c.all:
		w.inserted += int64(len(c.rows))
		for i := range c.rows {
			w.agg.add(&c.rows[i])
		}
	case c.fresh != nil:
		w.inserted += int64(len(c.fresh))
		for i := range c.fresh {
			w.agg.add(&c.fresh[i])
		}
	case c.dups != nil:
		w.inserted += int64(len(c.rows) - len(c.dups))
		slices.Sort(c.dups)
		d := 0
		for i := range c.rows {
			if d < len(c.dups) && int(c.dups[d]) == i {
				d++
				continue
			}
			w.agg.add(&c.rows[i])
		}
	}
	clear(c.rows) // let the strings go
	c.rows, c.fresh, c.dups, c.all = c.rows[:0], nil, nil, false
}

// Close writes what is queued and the rollups, and returns how many events
// were new. The caller then commits (or rolls back) the transaction.
func (w *Writer) Close(ctx context.Context) (int64, error) {
	if w.closed {
		return w.inserted, w.err
	}
	w.closed = true
	if w.err == nil && w.cur != nil && len(w.cur.rows) > 0 {
		w.submitChunk(ctx)
	}
	// Sort what is collected while the last chunks are written: on
	// PostgreSQL an import's last fold otherwise kept the database idle for
	// a tenth of a second.
	if w.out > 0 {
		w.agg.fold()
	}
	for w.out > 0 {
		w.receive()
	}
	var delta []byte
	switch {
	case w.err != nil || w.agg.size() == 0:
	case w.journal:
		delta = w.agg.encodeDelta(nil)
	default:
		// The active users are sorted while the daily counts are written.
		w.agg.take(func(j *job) { w.send(ctx, j) })
	}
	w.stop() // before the INSERT: on SQLite the goroutine holds the connection
	if w.err == nil && delta != nil {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO usage_rollup_journal (delta) VALUES ($1)`, delta); err != nil {
			w.err = fmt.Errorf("store rollup journal: %w", err)
		}
	}
	if w.err != nil {
		return 0, w.err
	}
	return w.inserted, nil
}

// Abort stops the writer without writing what is queued; the caller rolls
// the transaction back.
func (w *Writer) Abort() {
	if w.closed && !w.started {
		return
	}
	w.closed = true
	w.stop()
	if w.err == nil {
		w.err = errors.New("usage writer: aborted")
	}
}

// stop ends the goroutine after the jobs it has, collecting their results.
func (w *Writer) stop() {
	if !w.started {
		return
	}
	w.started = false
	close(w.jobs)
	for w.out > 0 {
		w.receive()
	}
	for range w.results {
	}
	if w.sess != nil && w.err == nil {
		w.sess.chunks = append(w.sess.chunks, w.free...)
		w.free = nil
		w.agg.reset()
		w.sess.interned = [3]map[string]int32{w.agg.accounts.ids, w.agg.events.ids, w.agg.users.ids}
		w.sess.appended = [2][]rkey{w.agg.dailyNew, w.agg.activeNew}
	}
}

// useSession makes w write in sess, with what the Writers before left there.
func (w *Writer) useSession(sess *Session) {
	w.sess = sess
	if m := sess.interned; m[0] != nil {
		w.agg.accounts.ids, w.agg.events.ids, w.agg.users.ids = m[0], m[1], m[2]
		w.agg.dailyNew, w.agg.activeNew = sess.appended[0], sess.appended[1]
		sess.interned, sess.appended = [3]map[string]int32{}, [2][]rkey{}
	}
}

// prepare builds a chunk's SQL values on the Add side, off the SQL
// goroutine. PostgreSQL needs none: COPY reads the rows as they are
// (pgEventRow), which keeps a third of a chunk's memory out of the heap.
func (w *Writer) prepare(c *chunk) {
	if w.db.Dialect == store.Postgres {
		return
	}
	c.plain = true
	for i := range c.rows {
		if c.rows[i].Properties != "{}" {
			c.plain = false
			break
		}
	}
	clear(c.args)
	c.args = append(c.args[:0], w.now) // ?1, recorded_at (see sqliteSide.chunk)
	for i := range c.rows {
		e := &c.rows[i]
		c.args = append(c.args, e.MessageID, nullable(e.AccountID), e.UserID, e.Event, e.TS)
		if !c.plain {
			c.args = append(c.args, e.Properties)
		}
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type nopSide struct{}

func (nopSide) chunk(context.Context, *chunk) error        { return nil }
func (nopSide) daily(context.Context, *dailyBatch) error   { return nil }
func (nopSide) active(context.Context, *activeBatch) error { return nil }
func (nopSide) close()                                     {}

const eventColumns = "message_id, account_id, user_id, event, ts, properties, recorded_at"

// valuesSQL repeats row n times, comma-separated.
func valuesSQL(n int, row string) string {
	var b strings.Builder
	b.Grow(n * (len(row) + 1))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// --- rollups in memory ---

// rollup aggregates new events by (account, day, event) and (account, day,
// user), with the strings interned so that a key is 12 bytes. Keys are
// appended as events come and folded now and then: sorted, counted and
// merged into the sorted unique keys so far. That costs a sixth of what
// hash maps did: with a million keys nearly every map access was a cache
// miss (a third of the CPU time of an import on the Add side).
type rollup struct {
	accounts, events, users interner
	dailyNew, activeNew     []rkey         // since the last fold, in event order
	daily                   []rkey         // (account, event, day), sorted, unique
	counts                  []int64        // of daily
	active                  []rkey         // (account, user, day), sorted, unique
	weighted                map[rkey]int64 // daily counts of journal deltas, not folded yet
}

// rkey is a rollup key as ids: account, x (event or user), day.
type rkey [3]int32

func cmpKey(p, q rkey) int {
	for i := range p {
		if p[i] != q[i] {
			if p[i] < q[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// foldAt is how many appended keys trigger a fold (tests lower it).
var foldAt = 1 << 20

type interner struct {
	ids   map[string]int32
	names []string
}

func (in *interner) id(s string) int32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := int32(len(in.names))
	in.ids[s] = id
	in.names = append(in.names, s)
	return id
}

// ranks returns each id's position in the byte order of the names (the
// order of SQLite's BINARY collation) and the ids in that order.
func (in *interner) ranks() (rank, byRank []int32) {
	byRank = make([]int32, len(in.names))
	for i := range byRank {
		byRank[i] = int32(i)
	}
	slices.SortFunc(byRank, func(a, b int32) int { return strings.Compare(in.names[a], in.names[b]) })
	rank = make([]int32, len(byRank))
	for r, id := range byRank {
		rank[id] = int32(r)
	}
	return rank, byRank
}

func (r *rollup) init() {
	r.accounts = interner{ids: map[string]int32{}}
	r.events = interner{ids: map[string]int32{}}
	r.users = interner{ids: map[string]int32{}}
	r.dailyNew, r.activeNew, r.daily, r.counts, r.active = nil, nil, nil, nil, nil
}

// reset empties the rollup, keeping the room of the interners' maps and of
// the appended keys: the names and the sorted keys went with the batches.
func (r *rollup) reset() {
	for _, in := range []*interner{&r.accounts, &r.events, &r.users} {
		clear(in.ids)
		in.names = nil
	}
	r.dailyNew, r.activeNew = r.dailyNew[:0], r.activeNew[:0]
	r.daily, r.counts, r.active = nil, nil, nil
	clear(r.weighted) // their ids went with the names
}

// size is the number of keys held, folded or not.
func (r *rollup) size() int {
	return len(r.daily) + len(r.active) + len(r.dailyNew) + len(r.activeNew) + len(r.weighted)
}

// over reports whether more than limit keys are held once folded.
func (r *rollup) over(limit int) bool {
	if r.size() <= limit {
		return false
	}
	r.fold()
	return r.size() > limit
}

func (r *rollup) add(e *Raw) {
	if e.AccountID == "" {
		return
	}
	a, d := r.accounts.id(e.AccountID), int32(store.Day(e.TS))
	r.dailyNew = append(r.dailyNew, rkey{a, r.events.id(e.Event), d})
	if e.UserID != "" {
		r.activeNew = append(r.activeNew, rkey{a, r.users.id(e.UserID), d})
	}
	if len(r.dailyNew)+len(r.activeNew) >= foldAt {
		r.fold()
	}
}

// sortIDs sorts keys by cmpKey; nA and nX bound their account and x ids.
// Packed into 64 bits when they fit (the usual case), they sort several
// times faster than compared as arrays.
func sortIDs(keys []rkey, nA, nX int) {
	minD, maxD := int32(math.MaxInt32), int32(math.MinInt32)
	for _, k := range keys {
		minD, maxD = min(minD, k[2]), max(maxD, k[2])
	}
	bX, bD := bits.Len(uint(nX)), bits.Len64(uint64(int64(maxD)-int64(minD)))
	if bits.Len(uint(nA))+bX+bD > 64 || !packKeys {
		slices.SortFunc(keys, cmpKey)
		return
	}
	p := make([]uint64, len(keys))
	for i, k := range keys {
		p[i] = uint64(k[0])<<(bX+bD) | uint64(k[1])<<bD | uint64(int64(k[2])-int64(minD))
	}
	slices.Sort(p)
	for i, v := range p {
		keys[i] = rkey{int32(v >> (bX + bD)), int32(v >> bD & (1<<bX - 1)), int32(int64(v&(1<<bD-1)) + int64(minD))}
	}
}

// fold merges the appended keys into the sorted ones.
func (r *rollup) fold() {
	r.foldWeighted()
	if len(r.dailyNew) > 0 {
		sortIDs(r.dailyNew, len(r.accounts.names), len(r.events.names))
		r.mergeDaily(r.dailyNew, nil)
		r.dailyNew = r.dailyNew[:0]
	}
	if len(r.activeNew) > 0 {
		sortIDs(r.activeNew, len(r.accounts.names), len(r.users.names))
		keys := make([]rkey, 0, len(r.active)+len(r.activeNew))
		add := func(k rkey) {
			if l := len(keys); l == 0 || keys[l-1] != k {
				keys = append(keys, k)
			}
		}
		i := 0
		for _, k := range r.activeNew {
			for i < len(r.active) && cmpKey(r.active[i], k) < 0 {
				add(r.active[i])
				i++
			}
			add(k)
		}
		for ; i < len(r.active); i++ {
			add(r.active[i])
		}
		r.active, r.activeNew = keys, r.activeNew[:0]
	}
}

// mergeDaily merges the sorted keys ks, counted ns (nil: once each), into
// the sorted daily counts.
func (r *rollup) mergeDaily(ks []rkey, ns []int64) {
	keys := make([]rkey, 0, len(r.daily)+len(ks))
	counts := make([]int64, 0, cap(keys))
	add := func(k rkey, n int64) {
		if l := len(keys); l > 0 && keys[l-1] == k {
			counts[l-1] += n
			return
		}
		keys, counts = append(keys, k), append(counts, n)
	}
	i := 0
	for j, k := range ks {
		for i < len(r.daily) && cmpKey(r.daily[i], k) < 0 {
			add(r.daily[i], r.counts[i])
			i++
		}
		n := int64(1)
		if ns != nil {
			n = ns[j]
		}
		add(k, n)
	}
	for ; i < len(r.daily); i++ {
		add(r.daily[i], r.counts[i])
	}
	r.daily, r.counts = keys, counts
}

// dailyBatch is rollup counts in primary key order.
type dailyBatch struct {
	accounts, events []string // names by id
	keys             keyList  // (account, event, day)
	counts           []int64
}

// activeBatch is active user-days in the order of account name, day, then
// user name.
type activeBatch struct {
	accounts, users []string
	keys            keyList // (account, user, day)
}

// spanRow is a row of usage_user_days: an account's user was active on the
// days of span whose bits days sets (DaySpan).
type spanRow struct {
	account, user, span int32
	days                int64
}

// spans returns the batch's user-days as rows of usage_user_days, in its
// primary key order (account name, span, user name).
func (b *activeBatch) spans() []spanRow {
	var out []spanRow
	group := map[int32]int64{} // user → days, of the account and span at hand
	var users []int32
	flush := func(account, span int32) {
		users = users[:0]
		for u := range group {
			users = append(users, u)
		}
		slices.SortFunc(users, func(p, q int32) int { return strings.Compare(b.users[p], b.users[q]) })
		for _, u := range users {
			out = append(out, spanRow{account: account, user: u, span: span, days: group[u]})
		}
		clear(group)
	}
	curA, curS := int32(-1), int32(0)
	for i := range b.keys.len() {
		a, u, d := b.keys.at(i)
		span, bit := DaySpan(int64(d))
		if s := int32(span); a != curA || s != curS {
			if len(group) > 0 {
				flush(curA, curS)
			}
			curA, curS = a, s
		}
		group[u] |= bit
	}
	if len(group) > 0 {
		flush(curA, curS)
	}
	return out
}

// take hands the aggregated rows to send in primary key order, so that they
// go into the rollup tables' indexes in order (the daily counts first, so
// that they are written while the user-days are sorted), and empties the
// rollup.
func (r *rollup) take(send func(*job)) {
	r.fold()
	ra, rankedA := r.accounts.ranks()
	if len(r.daily) > 0 {
		re, rankedE := r.events.ranks()
		keys, order := sortKeysOrder(r.daily, ra, re, rankedA, rankedE)
		counts := make([]int64, keys.len())
		for i := range counts {
			if order != nil {
				counts[i] = r.counts[order[i]]
				continue
			}
			a, e, d := keys.at(i)
			j, _ := slices.BinarySearchFunc(r.daily, rkey{a, e, d}, cmpKey)
			counts[i] = r.counts[j]
		}
		r.daily, r.counts = nil, nil
		send(&job{d: &dailyBatch{accounts: r.accounts.names, events: r.events.names, keys: keys, counts: counts}})
	}
	if len(r.active) > 0 {
		ru, rankedU := r.users.ranks()
		keys := sortKeys(r.active, ra, ru, rankedA, rankedU)
		r.active = nil
		send(&job{u: &activeBatch{accounts: r.accounts.names, users: r.users.names, keys: keys}})
	}
	r.reset()
}

// keyList is rollup keys (account, x, day), as ids, in the order of
// account name, day, then x's name: packed into 64 bits as (account rank,
// day, x rank) when they fit, which is usual and sorts several times faster
// than comparing keys, else as they are.
type keyList struct {
	packed           []uint64
	bitsX, bitsD     int
	minDay, maxDay   int32
	byRankA, byRankX []int32
	keys             []rkey // when not packed
}

func (l *keyList) len() int { return len(l.packed) + len(l.keys) }

// keep keeps the keys for which f returns true, in their order.
func (l *keyList) keep(f func(account, x, day int32) bool) {
	n := 0
	for i := range l.len() {
		if !f(l.at(i)) {
			continue
		}
		if l.packed != nil {
			l.packed[n] = l.packed[i]
		} else {
			l.keys[n] = l.keys[i]
		}
		n++
	}
	if l.packed != nil {
		l.packed = l.packed[:n]
	} else {
		l.keys = l.keys[:n]
	}
}

func (l *keyList) at(i int) (account, x, day int32) {
	if l.packed == nil {
		k := l.keys[i]
		return k[0], k[1], k[2]
	}
	p := l.packed[i]
	x = l.byRankX[p&(1<<l.bitsX-1)]
	day = int32(int64((p>>l.bitsX)&(1<<l.bitsD-1)) + int64(l.minDay))
	return l.byRankA[p>>(l.bitsD+l.bitsX)], x, day
}

var packKeys = true // false tests the general path

// sortKeys returns the keys (account, x, day) in the order of account
// name, day, then x's name.
func sortKeys(keys []rkey, rankA, rankX, byRankA, byRankX []int32) keyList {
	l, _ := sortKeysOrder(keys, rankA, rankX, byRankA, byRankX)
	return l
}

// sortKeysOrder is sortKeys that also returns, when it can at no cost, the
// position in keys of each key of the list: packed keys carry it in their
// low bits while they sort when there is room for it (usual). nil: no room.
// It spares the daily counts a binary search a key, which was a sixth of
// the time between the end of an import's events and its rollups' COPY.
func sortKeysOrder(keys []rkey, rankA, rankX, byRankA, byRankX []int32) (keyList, []int32) {
	minDay, maxDay := int32(math.MaxInt32), int32(math.MinInt32)
	for _, k := range keys {
		minDay, maxDay = min(minDay, k[2]), max(maxDay, k[2])
	}
	l := keyList{minDay: minDay, maxDay: maxDay, byRankA: byRankA, byRankX: byRankX,
		bitsX: bits.Len(uint(len(byRankX))), bitsD: bits.Len64(uint64(int64(maxDay) - int64(minDay)))}
	if width := bits.Len(uint(len(byRankA))) + l.bitsD + l.bitsX; width <= 64 && packKeys {
		bitsI := bits.Len(uint(len(keys)))
		if width+bitsI > 64 {
			bitsI = 0
		}
		l.packed = make([]uint64, 0, len(keys))
		for i, k := range keys {
			a, x, d := k[0], k[1], k[2]
			p := uint64(rankA[a])<<(l.bitsD+l.bitsX) | uint64(int64(d)-int64(minDay))<<l.bitsX | uint64(rankX[x])
			if bitsI > 0 {
				p = p<<bitsI | uint64(i)
			}
			l.packed = append(l.packed, p)
		}
		slices.Sort(l.packed)
		if bitsI == 0 {
			return l, nil
		}
		order := make([]int32, len(keys))
		for i, p := range l.packed {
			order[i] = int32(p & (1<<bitsI - 1))
			l.packed[i] = p >> bitsI
		}
		return l, order
	}
	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		p, q := keys[i], keys[j]
		switch {
		case rankA[p[0]] != rankA[q[0]]:
			return int(rankA[p[0]] - rankA[q[0]])
		case p[2] != q[2]:
			if p[2] < q[2] {
				return -1
			}
			return 1
		}
		return int(rankX[p[1]] - rankX[q[1]])
	})
	l.keys = make([]rkey, len(keys))
	for i, j := range order {
		l.keys[i] = keys[j]
	}
	return l, order
}
