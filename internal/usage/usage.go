// Package usage owns product usage: raw events, de-duplicated by message id and time,
// and the daily rollups (account × event × day counts, account × day active
// users) that health, risk and onboarding read instead of raw events.
package usage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Event is one usage event.
type Event struct {
	MessageID  string          `json:"message_id,omitempty"`
	AccountID  string          `json:"account_id"`
	UserID     string          `json:"user_id,omitempty"`
	Event      string          `json:"event"`
	Timestamp  time.Time       `json:"timestamp"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

// DedupeKey is the event's message id, or a hash of all its fields when it has
// none, so that re-sending the same event stores it once.
func DedupeKey(messageID, accountID, userID, event string, ts int64, properties string) string {
	if messageID != "" {
		return messageID
	}
	h := sha256.New()
	for _, s := range []string{accountID, userID, event, strconv.FormatInt(ts, 10), properties} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "h:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Ingest stores a batch of events and updates the rollups in one transaction.
// Events already stored (same message id, or same fields without one) are
// skipped, as are repeats within the batch (the first wins); events without
// an account are stored but not rolled up. It returns how many were new.
func Ingest(ctx context.Context, db *store.DB, events []Event) (int64, error) {
	if len(events) == 0 {
		return 0, nil
	}
	p, err := IngestUncommitted(ctx, db, events)
	if err != nil {
		return 0, err
	}
	return p.Commit()
}

// Pending is an [IngestUncommitted] transaction: written, not committed.
type Pending struct {
	conn *sql.Conn
	sess *Session // nil: the connection goes back to the pool at the end
	tx   *sql.Tx
	n    int64
}

// IngestUncommitted does what Ingest does but the commit: the caller must
// end the transaction with Pending.Commit or Pending.Rollback. Between the
// two, the transaction holds its connection and the locks of the rows it
// wrote (other writers of the same message ids or rollups wait for it);
// the group-commit writer uses the time to prepare its next transaction
// while this one's commit waits for the disk.
func IngestUncommitted(ctx context.Context, db *store.DB, events []Event) (*Pending, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest events: %w", err)
	}
	return ingest(ctx, db, conn, nil, events)
}

// Session is a connection kept for a series of ingest transactions (the
// group-commit writer's rounds), with the SQLite statements its Writers
// prepare: a round is a few thousand events, and preparing its thousand-row
// INSERTs again for each round took a sixth of the server's CPU time. One
// transaction at a time: a Session is not safe for concurrent use.
type Session struct {
	db      *store.DB
	conn    *sql.Conn
	restore func() // the connection's settings before store.DB.DeferSync
	stmts   map[string]driver.Stmt
	broken  bool          // a transaction failed: start again on a new connection
	journal bool          // DeferRollups
	pace    time.Duration // PaceRollups
	known   knownUserDays
	// What the Writers leave for the next: their free chunks, the SQLite
	// side's argument slices and the rollup's maps (allocating them again
	// each round was half of the writer's garbage).
	chunks   []*chunk
	named    []driver.NamedValue
	args     []any
	interned [3]map[string]int32 // the rollup's maps of account, event and user ids, empty
	appended [2][]rkey           // and its slices of appended keys, empty

	// PostgreSQL: the Writer's temporary tables exist (created by a
	// committed transaction), or were created by the one in progress.
	pgTables, pgTablesNew bool
}

// NewSession takes a connection from db's pool for a Session. On SQLite
// its commits do not wait for the disk (store.DB.DeferSync): see
// Pending.CommitNoSync.
func NewSession(ctx context.Context, db *store.DB) (*Session, error) {
	s := &Session{db: db, stmts: map[string]driver.Stmt{}}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Session) connect(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("ingest session: %w", err)
	}
	restore, err := s.db.DeferSync(ctx, conn)
	if err != nil {
		conn.Close()
		return fmt.Errorf("ingest session: %w", err)
	}
	s.conn, s.restore, s.broken, s.pgTables = conn, restore, false, false
	return nil
}

// IngestUncommitted is [IngestUncommitted] on the session's connection. The
// previous transaction must have ended.
func (s *Session) IngestUncommitted(ctx context.Context, events []Event) (*Pending, error) {
	if s.broken {
		// The connection may be unusable (a timeout in a statement): the
		// statements go with it.
		s.Close()
		if err := s.connect(ctx); err != nil {
			return nil, fmt.Errorf("ingest events: %w", err)
		}
	}
	return ingest(ctx, s.db, s.conn, s, events)
}

// Close closes the statements and gives the connection back to the pool.
func (s *Session) Close() error {
	if len(s.stmts) > 0 {
		// On the connection: finalizing a statement uses it.
		s.conn.Raw(func(any) error {
			for _, st := range s.stmts {
				st.Close()
			}
			return nil
		})
		clear(s.stmts)
	}
	s.restore()
	return s.conn.Close()
}

// ingest writes events in a new transaction on conn: a Session's
// connection, whose statements it keeps, or with sess nil a connection that
// goes back to the pool when the transaction ends.
func ingest(ctx context.Context, db *store.DB, conn *sql.Conn, sess *Session, events []Event) (*Pending, error) {
	p := &Pending{conn: conn, sess: sess}
	var err error
	if p.tx, err = conn.BeginTx(ctx, nil); err != nil {
		p.end(err)
		return nil, fmt.Errorf("ingest events: %w", err)
	}
	if len(events) == 0 {
		return p, nil
	}
	w := NewWriter(db, conn, p.tx)
	if sess != nil {
		w.useSession(sess)
		w.journal = sess.journal
	}
	for _, e := range events {
		if err := w.Add(ctx, Raw{MessageID: e.MessageID, AccountID: e.AccountID, UserID: e.UserID, Event: e.Event,
			TS: e.Timestamp.Unix(), Properties: string(e.Properties)}); err != nil {
			w.Abort()
			p.tx.Rollback()
			p.end(err)
			return nil, fmt.Errorf("ingest events: %w", err)
		}
	}
	if p.n, err = w.Close(ctx); err != nil {
		p.tx.Rollback()
		p.end(err)
		return nil, fmt.Errorf("ingest events: %w", err)
	}
	return p, nil
}

// end releases the connection after the transaction ended with err.
func (p *Pending) end(err error) {
	s := p.sess
	switch {
	case s == nil:
		p.conn.Close()
		return
	case err != nil:
		s.broken = true
	}
	s.pgTablesNew = false
	s.known.discard() // what a commit added is known by now; the rest goes
}

// Commit commits the transaction and returns how many events were new,
// once they are on the disk.
func (p *Pending) Commit() (int64, error) {
	n, err := p.CommitNoSync()
	if err != nil || p.sess == nil {
		return n, err
	}
	if err := p.sess.db.SyncWAL(); err != nil {
		return 0, fmt.Errorf("ingest events: %w", err)
	}
	return n, nil
}

// CommitNoSync is Commit without the wait for the disk of a Session's
// SQLite commit: the events are stored and visible, and survive a killed
// process, but survive a power cut only once store.DB.SyncWAL has returned
// nil. The group-commit writer syncs one round while it writes the next.
// On PostgreSQL, and outside a Session, it is Commit.
func (p *Pending) CommitNoSync() (int64, error) {
	err := p.tx.Commit()
	if err == nil && p.sess != nil {
		p.sess.pgTables = p.sess.pgTables || p.sess.pgTablesNew
		p.sess.known.commit()
	}
	p.end(err)
	if err != nil {
		return 0, fmt.Errorf("ingest events: commit: %w", err)
	}
	return p.n, nil
}

// Rollback abandons the transaction.
func (p *Pending) Rollback() {
	p.tx.Rollback()
	p.end(nil)
}

// DailyCount is one rollup row.
type DailyCount struct {
	Day   int64  `json:"day"`
	Event string `json:"event"`
	Count int64  `json:"count"`
}

// Daily returns an account's rollup rows for days in [from, to].
func Daily(ctx context.Context, q store.Querier, accountID string, from, to int64) ([]DailyCount, error) {
	rows, err := q.QueryContext(ctx, `SELECT day, event, count FROM usage_daily
		WHERE account_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day, event`, accountID, from, to)
	if err != nil {
		return nil, fmt.Errorf("daily usage of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []DailyCount
	for rows.Next() {
		var d DailyCount
		if err := rows.Scan(&d.Day, &d.Event, &d.Count); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ActiveUsers returns the number of distinct users of an account active on
// any day in [from, to].
func ActiveUsers(ctx context.Context, q store.Querier, accountID string, from, to int64) (int64, error) {
	w := DayWindow(from, to)
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT u.user_id) FROM usage_user_days u
		WHERE u.account_id = $1 AND u.span BETWEEN $2 AND $3 AND `+ActiveIn("u", 2),
		accountID, w[0], w[1], w[2], w[3]).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("active users of %s: %w", accountID, err)
	}
	return n, nil
}

// DaySpan is where usage_user_days keeps a day: in the row of span
// (day >> 6, a 64-day span), as the bit of days.
func DaySpan(day int64) (span, bit int64) {
	return day >> 6, int64(uint64(1) << (day & 63))
}

// DayWindow is the days [from, to] as usage_user_days stores them: the
// first and last span (day >> 6) and the bits of the days of the window in
// each (the same mask when they are one span). An empty window (from > to)
// has no bits.
func DayWindow(from, to int64) [4]int64 {
	lo, hi := from>>6, to>>6
	if from > to {
		return [4]int64{lo, hi, 0, 0}
	}
	loBits := ^uint64(0) << (from & 63)  // from's bit and above
	hiBits := ^uint64(0) >> (63 - to&63) // to's bit and below
	if lo == hi {
		loBits &= hiBits
		hiBits = loBits
	}
	return [4]int64{lo, hi, int64(loBits), int64(hiBits)}
}

// ActiveIn is the SQL condition that the usage_user_days row alias was
// active on a day of a window whose [DayWindow] is the arguments $n to
// $n+3. Rows outside the spans have no bits in it; the caller should also
// restrict alias.span to BETWEEN $n AND $n+1, which the primary key serves.
func ActiveIn(alias string, n int) string {
	return fmt.Sprintf(`(%[1]s.days & CASE WHEN %[1]s.span < $%[2]d OR %[1]s.span > $%[3]d THEN 0
		WHEN %[1]s.span = $%[2]d THEN CAST($%[4]d AS BIGINT) WHEN %[1]s.span = $%[3]d THEN CAST($%[5]d AS BIGINT) ELSE -1 END) <> 0`,
		alias, n, n+1, n+2, n+3)
}

// AddRollups adds pre-aggregated counts to the rollups without raw events: for
// history older than the raw-event retention (the demo generator, a migration
// from another tool). users lists (day, user) pairs that were active.
// A transaction that may run beside other writers of the rollups takes
// [LockRollups] before its first AddRollups.
func AddRollups(ctx context.Context, q store.Querier, accountID string, counts []DailyCount, users map[int64][]string) error {
	var names []string
	for _, c := range counts {
		if !slices.Contains(names, c.Event) {
			names = append(names, c.Event)
		}
	}
	if err := addEventNames(ctx, q, names); err != nil {
		return fmt.Errorf("add rollups of %s: %w", accountID, err)
	}
	for _, c := range counts {
		if _, err := q.ExecContext(ctx, `INSERT INTO usage_daily (account_id, day, event, count) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, day, event) DO UPDATE SET count = usage_daily.count + excluded.count`,
			accountID, c.Day, c.Event, c.Count); err != nil {
			return fmt.Errorf("add rollups of %s: %w", accountID, err)
		}
	}
	type spanUser struct {
		span int64
		user string
	}
	masks := map[spanUser]int64{}
	for day, us := range users {
		for _, u := range us {
			span, bit := DaySpan(day)
			masks[spanUser{span, u}] |= bit
		}
	}
	for k, days := range masks {
		if _, err := q.ExecContext(ctx, `INSERT INTO usage_user_days (account_id, span, user_id, days) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, span, user_id) DO UPDATE SET days = usage_user_days.days | excluded.days`,
			accountID, k.span, k.user, days); err != nil {
			return fmt.Errorf("add rollups of %s: %w", accountID, err)
		}
	}
	return nil
}

// CountEvents returns the number of stored raw events (for tests and the CLI summary).
func CountEvents(ctx context.Context, q store.Querier) (int64, error) {
	var n sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n)
	return n.Int64, err
}

// addEventNames records event names in usage_event_names, which lists
// every event in usage_daily (see migration 36); every writer of
// usage_daily calls it or does the same.
func addEventNames(ctx context.Context, q store.Querier, names []string) error {
	for _, n := range names {
		if _, err := q.ExecContext(ctx, `INSERT INTO usage_event_names (event) VALUES ($1) ON CONFLICT (event) DO NOTHING`, n); err != nil {
			return err
		}
	}
	return nil
}

// EventNames returns the names of the events in the rollups, in order.
func EventNames(ctx context.Context, q store.Querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT event FROM usage_event_names ORDER BY event`)
	if err != nil {
		return nil, fmt.Errorf("event names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("event names: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
