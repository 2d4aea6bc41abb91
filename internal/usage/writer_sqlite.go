package usage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
)

// sqliteSide writes on SQLite through the driver's connection (see start).
type sqliteSide struct {
	w     *Writer
	dc    any
	stmts map[string]driver.Stmt // full-size statements, prepared once
	kept  bool                   // stmts are a Session's: left open by close
	named []driver.NamedValue
	args  []any

	rows         int    // events of the chunks so far
	restoreCache *int64 // the connection's cache_size before lowerCache
}

// importCache is the page cache of the connection while a Writer writes
// much, in KiB. Half store.Open's: as fast here (the pages a chunk touches
// again are few; the rest are dirty pages on their way to the WAL), and
// SQLite's cache costs about twice its size in memory through modernc's
// allocator. Small writes (an API batch) leave the cache alone.
const (
	importCache     = 32768
	importCacheRows = 32768 // events written before the cache is lowered
)

// lowerCache lowers the connection's page cache for the rest of the
// Writer's life; close restores it, as the connection goes back to the pool.
func (s *sqliteSide) lowerCache(ctx context.Context) error {
	v, err := s.queryInt(ctx, "PRAGMA cache_size")
	if err != nil {
		return err
	}
	if v > 0 || v < -importCache { // pages, or more KiB than importCache
		if _, err := s.exec(ctx, "", text("PRAGMA cache_size = -"+strconv.Itoa(importCache)), nil); err != nil {
			return err
		}
		s.restoreCache = &v
	}
	return nil
}

func (s *sqliteSide) close() {
	if sess := s.w.sess; sess != nil {
		sess.named, sess.args = s.named[:0], s.args[:0]
	}
	if !s.kept {
		for _, st := range s.stmts {
			st.Close()
		}
	}
	s.stmts = nil
	if s.restoreCache != nil {
		s.exec(context.Background(), "", text("PRAGMA cache_size = "+strconv.FormatInt(*s.restoreCache, 10)), nil)
		s.restoreCache = nil
	}
}

// queryInt returns the first column of the first row of query.
func (s *sqliteSide) queryInt(ctx context.Context, query string) (int64, error) {
	st, err := s.dc.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(vals); err != nil {
		return 0, err
	}
	n, ok := vals[0].(int64)
	if !ok {
		return 0, fmt.Errorf("%s returned %T", query, vals[0])
	}
	return n, nil
}

// exec runs the statement query builds with the values of args, in order.
// A statement with a key is built and prepared once (see pieces); "" is
// for statements used once.
func (s *sqliteSide) exec(ctx context.Context, key string, query func() string, args ...[]any) (driver.Result, error) {
	st, ok := s.stmts[key]
	if !ok || key == "" {
		p, ok := s.dc.(driver.ConnPrepareContext)
		if !ok {
			return nil, fmt.Errorf("sqlite driver cannot prepare statements")
		}
		var err error
		if st, err = p.PrepareContext(ctx, query()); err != nil {
			return nil, err
		}
		if key != "" {
			if s.stmts == nil {
				s.stmts = map[string]driver.Stmt{}
			}
			s.stmts[key] = st
		} else {
			defer st.Close()
		}
	}
	s.named = s.named[:0]
	for _, a := range args {
		for _, v := range a {
			s.named = append(s.named, driver.NamedValue{Ordinal: len(s.named) + 1, Value: v})
		}
	}
	defer clear(s.named)
	return st.(driver.StmtExecContext).ExecContext(ctx, s.named)
}

// text returns a fixed statement for exec.
func text(q string) func() string { return func() string { return q } }

// pieces calls f with consecutive row ranges covering n rows: of size rows
// while they last, then of decreasing powers of two. A group-commit round
// ends in a partial chunk and partial rollup batches of any size, and
// preparing a statement of that many rows for each took a twentieth of
// the server's time under load; these sizes are few, so their statements
// are prepared once (in a Session, once for all rounds).
func pieces(n, size int, f func(start, end int) error) error {
	start := 0
	for n-start >= size {
		if err := f(start, start+size); err != nil {
			return err
		}
		start += size
	}
	if start == n {
		return nil
	}
	for p := 1 << (bits.Len(uint(n-start)) - 1); start < n; p >>= 1 {
		if n-start >= p {
			if err := f(start, start+p); err != nil {
				return err
			}
			start += p
		}
	}
	return nil
}

// chunk inserts a chunk with multi-row INSERT OR IGNOREs: the events' key
// (ts, message_id) skips the events already stored. OR IGNORE rather than
// ON CONFLICT DO NOTHING: with every constraint resolved by IGNORE the
// statement cannot fail halfway, so SQLite keeps no statement journal (with
// one, each page the statement touches again is first copied to a temporary
// file, which doubled the cost). The rows one statement inserts get the
// rowids after the largest stored, so when only some are new, those are
// read back by rowid: exact, whatever the cause of the duplicates.
func (s *sqliteSide) chunk(ctx context.Context, c *chunk) error {
	if s.rows < importCacheRows && s.rows+len(c.rows) >= importCacheRows {
		if err := s.lowerCache(ctx); err != nil {
			return fmt.Errorf("store events: %w", err)
		}
	}
	s.rows += len(c.rows)
	// recorded_at is parameter 1 of every row, so that the statement's text
	// does not change with the time and a Session's statement serves the
	// next Writers: each row's unnumbered ? after ?1 take the numbers after
	// the last one given.
	n := len(c.rows)
	key, row, per := "events", "(?1,?,?,?,?,?,?)", 6
	if c.plain {
		key, row, per = "events {}", "(?1,?,?,?,?,?,'{}')", 5
	}
	var added int64
	var res driver.Result
	err := pieces(n, sqliteStatementRows, func(start, end int) error {
		var err error
		res, err = s.exec(ctx, key+"/"+strconv.Itoa(end-start), func() string {
			return "INSERT OR IGNORE INTO events (recorded_at, message_id, account_id, user_id, event, ts, properties) VALUES " + valuesSQL(end-start, row)
		}, c.args[:1], c.args[1+start*per:1+end*per])
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		added += k
		return err
	})
	if err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	switch {
	case added == int64(n):
		c.all = true
		return nil
	case added == 0:
		c.fresh = []Raw{}
		return nil
	}
	// The last insert of the connection: the last piece's, or the one
	// before when it added nothing.
	last, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	c.fresh, err = s.readBack(ctx, last-added, last)
	if err != nil {
		return fmt.Errorf("store events: read back the new events: %w", err)
	}
	if int64(len(c.fresh)) != added {
		return fmt.Errorf("store events: %d events inserted but %d found by rowid", added, len(c.fresh))
	}
	return nil
}

// readBack returns the events with rowids in (after, last].
func (s *sqliteSide) readBack(ctx context.Context, after, last int64) ([]Raw, error) {
	st, err := s.dc.(driver.ConnPrepareContext).PrepareContext(ctx, `SELECT account_id, user_id, event, ts FROM events WHERE rowid > ? AND rowid <= ?`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: after}, {Ordinal: 2, Value: last}})
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Raw, 0, last-after)
	vals := make([]driver.Value, 4)
	for {
		if err := rows.Next(vals); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		var e Raw
		var ok bool
		if vals[0] != nil {
			if e.AccountID, ok = textValue(vals[0]); !ok {
				return nil, fmt.Errorf("account_id is %T", vals[0])
			}
		}
		if e.UserID, ok = textValue(vals[1]); !ok {
			return nil, fmt.Errorf("user_id is %T", vals[1])
		}
		if e.Event, ok = textValue(vals[2]); !ok {
			return nil, fmt.Errorf("event is %T", vals[2])
		}
		if e.TS, ok = vals[3].(int64); !ok {
			return nil, fmt.Errorf("ts is %T", vals[3])
		}
		out = append(out, e)
	}
}

func textValue(v driver.Value) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

const (
	sqliteDaily = "INSERT INTO usage_daily (account_id, day, event, count) VALUES "
	// The batch's keys are unique, so no row is updated twice.
	sqliteDailyEnd = " ON CONFLICT (account_id, day, event) DO UPDATE SET count = usage_daily.count + excluded.count"
	sqliteActive   = "INSERT INTO usage_user_days (account_id, span, user_id, days) VALUES "
)

func (s *sqliteSide) daily(ctx context.Context, b *dailyBatch) error {
	accounts, events, days := boxed(b.accounts), boxed(b.events), dayBox{}
	// The batch's event names into usage_event_names (see addEventNames).
	if err := pieces(len(events), rollupBatch, func(start, end int) error {
		_, err := s.exec(ctx, "names/"+strconv.Itoa(end-start), func() string {
			return "INSERT OR IGNORE INTO usage_event_names (event) VALUES " + valuesSQL(end-start, "(?)")
		}, events[start:end])
		return err
	}); err != nil {
		return fmt.Errorf("store event names: %w", err)
	}
	err := pieces(b.keys.len(), rollupBatch, func(start, end int) error {
		s.args = s.args[:0]
		for j := start; j < end; j++ {
			a, e, d := b.keys.at(j)
			s.args = append(s.args, accounts[a], days.get(d), events[e], b.counts[j])
		}
		_, err := s.exec(ctx, "daily/"+strconv.Itoa(end-start), func() string {
			return sqliteDaily + valuesSQL(end-start, "(?,?,?,?)") + sqliteDailyEnd
		}, s.args)
		return err
	})
	clear(s.args)
	if err != nil {
		return fmt.Errorf("store daily usage: %w", err)
	}
	return nil
}

func (s *sqliteSide) active(ctx context.Context, b *activeBatch) error {
	accounts, users, spans := boxed(b.accounts), boxed(b.users), dayBox{}
	rows := b.spans()
	err := pieces(len(rows), rollupBatch, func(start, end int) error {
		s.args = s.args[:0]
		for _, r := range rows[start:end] {
			s.args = append(s.args, accounts[r.account], spans.get(r.span), users[r.user], r.days)
		}
		_, err := s.exec(ctx, "active/"+strconv.Itoa(end-start), func() string {
			return sqliteActive + valuesSQL(end-start, "(?,?,?,?)") + userDaysUpsert
		}, s.args)
		return err
	})
	clear(s.args)
	if err != nil {
		return fmt.Errorf("store daily active users: %w", err)
	}
	return nil
}

// boxed converts each name to an interface value once, not once a row.
func boxed(names []string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// dayBox does the same for day numbers; keys come sorted by account, then
// day, so a small cache does.
type dayBox map[int32]any

func (b dayBox) get(d int32) any {
	v, ok := b[d]
	if !ok {
		v = int64(d)
		b[d] = v
	}
	return v
}
