package usage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// pgSide writes on PostgreSQL. A chunk of events is COPYed straight into
// the events table inside a savepoint; only when that meets a stored message
// id (a re-import, repeats across chunks, a concurrent writer) does it go
// through a temporary table and a set-based INSERT … ON CONFLICT, which
// tells the new events from the stored ones but costs more than twice as
// much on the server (speculative insertion: a lock and an extra WAL record
// a row, and the copy into the temporary table first).
type pgSide struct {
	w         *Writer
	tables    bool // the temporary tables exist
	plainUsed int  // rollup writes by plain COPY (savepoints opened)
	directs   int  // event chunks COPYed into events (savepoints opened)
	noDirect  bool // a direct COPY met a stored event: use the temporary table
	locked    bool // LockRollups was taken
}

const (
	pgEventsIn = "usage_writer_events"
	pgDailyIn  = "usage_writer_daily"
	pgActiveIn = "usage_writer_users"
)

var (
	pgEventsInColumns = []string{"seq", "message_id", "account_id", "user_id", "event", "ts", "properties"}
	pgEventsColumns   = []string{"message_id", "account_id", "user_id", "event", "ts", "properties", "recorded_at"}
)

// Savepoints are subtransactions, and past 64 in one transaction
// PostgreSQL's per-backend cache of them overflows, which slows every
// session's snapshots. A Writer opens at most pgDirectChunks of them for
// events and plainRollups for rollups: 48 chunks of postgresChunk events
// are 1.5 million events COPYed directly; the chunks after that take the
// temporary table.
const pgDirectChunks = 48

func (s *pgSide) close() {}

// createTables creates the temporary tables, dropped at commit; in a
// Session they are kept (emptied at commit) for the next Writers: creating
// and dropping three tables a round was catalog work a round.
func (s *pgSide) createTables(ctx context.Context) error {
	sess := s.w.sess
	if s.tables || sess != nil && sess.pgTables {
		s.tables = true
		return nil
	}
	for _, t := range []struct{ name, ddl string }{
		{pgEventsIn, "seq INTEGER NOT NULL, message_id TEXT NOT NULL, account_id TEXT, user_id TEXT NOT NULL, event TEXT NOT NULL, ts BIGINT NOT NULL, properties TEXT NOT NULL"},
		{pgDailyIn, "account_id TEXT NOT NULL, day INTEGER NOT NULL, event TEXT NOT NULL, count BIGINT NOT NULL"},
		{pgActiveIn, "account_id TEXT NOT NULL, span INTEGER NOT NULL, user_id TEXT NOT NULL, days BIGINT NOT NULL"},
	} {
		if sess != nil {
			// A connection a broken Session gave back to the pool may come
			// back to a new one with its tables.
			for _, q := range []string{"DROP TABLE IF EXISTS pg_temp." + t.name, "CREATE TEMP TABLE " + t.name + " (" + t.ddl + ") ON COMMIT DELETE ROWS"} {
				if _, err := s.w.tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("create %s: %w", t.name, err)
				}
			}
			continue
		}
		if err := s.w.db.CreateTempTable(ctx, s.w.tx, t.name, t.ddl); err != nil {
			return err
		}
	}
	s.tables = true
	if sess != nil {
		sess.pgTablesNew = true
	}
	return nil
}

// chunk stores a chunk of events: directly (see pgSide) while that works,
// else through the temporary table (viaTable).
func (s *pgSide) chunk(ctx context.Context, c *chunk) error {
	if s.noDirect || s.directs >= pgDirectChunks {
		s.w.tableChunks++
		return s.viaTable(ctx, c)
	}
	s.directs++
	copied, err := s.inSavepoint(ctx, func() error {
		_, err := store.CopyBinary(ctx, s.w.conn, "events", pgEventsColumns, len(c.rows), func(i int, r *store.CopyRow) {
			pgEventRow(r, &c.rows[i])
			r.Int8(s.w.now)
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	if !copied {
		// Where one chunk meets stored events, the next ones likely do too.
		s.noDirect = true
		s.w.tableChunks++
		return s.viaTable(ctx, c)
	}
	s.w.directChunks++
	c.all = true
	return nil
}

// pgEventRow appends an event's values but recorded_at, as in
// pgEventsColumns (and pgEventsInColumns after seq).
func pgEventRow(r *store.CopyRow, e *Raw) {
	r.Text(e.MessageID)
	r.NullText(e.AccountID)
	r.Text(e.UserID)
	r.Text(e.Event)
	r.Int8(e.TS)
	r.Text(e.Properties)
}

// inSavepoint runs write in a savepoint and reports whether it succeeded;
// a unique violation is rolled back and reported as false, nil.
func (s *pgSide) inSavepoint(ctx context.Context, write func() error) (bool, error) {
	tx := s.w.tx
	if _, err := tx.ExecContext(ctx, "SAVEPOINT usage_writer"); err != nil {
		return false, err
	}
	err := write()
	if err == nil {
		_, err = tx.ExecContext(ctx, "RELEASE SAVEPOINT usage_writer")
		return err == nil, err
	}
	if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "23505" {
		return false, err
	}
	for _, q := range []string{"ROLLBACK TO SAVEPOINT usage_writer", "RELEASE SAVEPOINT usage_writer"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, err
		}
	}
	return false, nil
}

// viaTable COPYs a chunk into a temporary table and inserts it with one
// statement, which returns the positions of the events already stored. ON
// CONFLICT DO NOTHING rather than first deleting the stored ones from the
// temporary table: as fast (measured), and a concurrent writer of the same
// message id is waited for and skipped instead of failing the transaction.
// The keys (ts, message_id) in a chunk are unique (Add drops repeats), so
// the keys the INSERT returns are exactly the new events.
func (s *pgSide) viaTable(ctx context.Context, c *chunk) error {
	w := s.w
	if err := s.createTables(ctx); err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(ctx, "TRUNCATE "+pgEventsIn); err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	if _, err := store.CopyBinary(ctx, w.conn, pgEventsIn, pgEventsInColumns, len(c.rows), func(i int, r *store.CopyRow) {
		r.Int4(int32(i))
		pgEventRow(r, &c.rows[i])
	}); err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	rows, err := w.tx.QueryContext(ctx, `WITH added AS (
			INSERT INTO events (`+eventColumns+`)
			SELECT message_id, account_id, user_id, event, ts, properties, CAST($1 AS BIGINT) FROM `+pgEventsIn+`
			ON CONFLICT (ts, message_id) DO NOTHING RETURNING ts, message_id)
		SELECT s.seq FROM `+pgEventsIn+` s WHERE NOT EXISTS (SELECT 1 FROM added a WHERE a.ts = s.ts AND a.message_id = s.message_id)`, w.now)
	if err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	defer rows.Close()
	c.dups = []int32{}
	for rows.Next() {
		var seq int32
		if err := rows.Scan(&seq); err != nil {
			return fmt.Errorf("store events: %w", err)
		}
		c.dups = append(c.dups, seq)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	if len(c.dups) == 0 {
		c.all, c.dups = true, nil
	}
	return nil
}

// Rollups are COPYed straight into their table when no row of the batch's
// accounts and days is stored yet (the common case of importing history),
// several times faster than through a temporary table and INSERT … ON
// CONFLICT, whose speculative insertion costs a lock and an extra WAL record
// a row. The COPY runs in a savepoint: should another transaction insert one
// of the keys meanwhile, it fails with a unique violation, is rolled back to
// the savepoint and the batch goes through ON CONFLICT after all. A Writer
// opens at most plainRollups such savepoints (see pgDirectChunks).
const (
	plainRollups         = 16
	plainRollupsAccounts = 10000 // more accounts than this in a batch: ON CONFLICT
)

var pgAssumeFresh = false // tests: skip the check, as if a concurrent writer raced it

// writeRollups writes a rollup batch into table: by copyTo(table) when
// fresh, else by copyTo(the temporary table) and upsert. The batch's rows
// have column in [lo, hi] (day, or span).
func (s *pgSide) writeRollups(ctx context.Context, table, temp string, accounts []string, column string, lo, hi int32, copyTo func(table string) error, upsert string) error {
	tx := s.w.tx
	if s.plainUsed < plainRollups && len(accounts) <= plainRollupsAccounts {
		fresh := pgAssumeFresh
		if !fresh {
			// One index probe an account (OFFSET 0 keeps each a probe):
			// is any row of these accounts within the batch's days stored?
			var stored bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM unnest(CAST($1 AS TEXT[])) a(id)
				WHERE EXISTS (SELECT 1 FROM `+table+` r WHERE r.account_id = a.id AND r.`+column+` BETWEEN $2 AND $3 OFFSET 0))`,
				accounts, lo, hi).Scan(&stored); err != nil {
				return err
			}
			fresh = !stored
		}
		if fresh {
			s.plainUsed++
			done, err := s.inSavepoint(ctx, func() error { return copyTo(table) })
			if done || err != nil {
				return err
			}
		}
	}
	if err := s.createTables(ctx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "TRUNCATE "+temp); err != nil {
		return err
	}
	if err := copyTo(temp); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, upsert)
	return err
}

// pgArrayRows: a rollup batch of at most this many rows (an API round's)
// is written by one INSERT … ON CONFLICT of arrays: a third of the time of
// the freshness probe, the temporary table's TRUNCATE and COPY, and the
// INSERT from it, which pay off for the large batches of an import. (A
// variable for the tests.)
var pgArrayRows = 16384

// paceRows is the rows of a paced rollup statement (Session.PaceRollups):
// some 20 ms of a PostgreSQL backend here. A variable for the tests.
var paceRows = 4096

// paced calls write with consecutive row ranges covering n rows: all at
// once, or when the Writer is paced, paceRows at a time with its pause
// between them.
func (s *pgSide) paced(n int, write func(start, end int) error) error {
	step := n
	if s.w.pace > 0 {
		step = paceRows
	}
	for start := 0; start < n; start += step {
		if start > 0 {
			pause(s.w.pace) // a cancelled ctx fails the next statement
		}
		if err := write(start, min(start+step, n)); err != nil {
			return err
		}
	}
	return nil
}

// lock takes LockRollups before the Writer's first rollup row.
func (s *pgSide) lock(ctx context.Context) error {
	if s.locked {
		return nil
	}
	if err := LockRollups(ctx, s.w.db, s.w.tx); err != nil {
		return err
	}
	s.locked = true
	return nil
}

// daily adds counts to usage_daily.
func (s *pgSide) daily(ctx context.Context, b *dailyBatch) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	// The batch's event names into usage_event_names (see addEventNames).
	if _, err := s.w.tx.ExecContext(ctx, `INSERT INTO usage_event_names (event) SELECT unnest(CAST($1 AS TEXT[]))
		ON CONFLICT (event) DO NOTHING`, b.events); err != nil {
		return fmt.Errorf("store event names: %w", err)
	}
	if n := b.keys.len(); n <= pgArrayRows || s.w.pace > 0 {
		err := s.paced(n, func(start, end int) error {
			m := end - start
			accounts, days, events := make([]string, m), make([]int32, m), make([]string, m)
			for i := range m {
				a, e, d := b.keys.at(start + i)
				accounts[i], days[i], events[i] = b.accounts[a], d, b.events[e]
			}
			_, err := s.w.tx.ExecContext(ctx, `INSERT INTO usage_daily (account_id, day, event, count)
				SELECT * FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS INTEGER[]), CAST($3 AS TEXT[]), CAST($4 AS BIGINT[]))
				ON CONFLICT (account_id, day, event) DO UPDATE SET count = usage_daily.count + excluded.count`,
				accounts, days, events, b.counts[start:end])
			return err
		})
		if err != nil {
			return fmt.Errorf("store daily usage: %w", err)
		}
		return nil
	}
	columns := []string{"account_id", "day", "event", "count"}
	copyTo := func(table string) error {
		_, err := store.CopyBinary(ctx, s.w.conn, table, columns, b.keys.len(), func(i int, r *store.CopyRow) {
			a, e, d := b.keys.at(i)
			r.Text(b.accounts[a])
			r.Int4(d)
			r.Text(b.events[e])
			r.Int8(b.counts[i])
		})
		return err
	}
	if err := s.writeRollups(ctx, "usage_daily", pgDailyIn, b.accounts, "day", b.keys.minDay, b.keys.maxDay, copyTo,
		`INSERT INTO usage_daily (account_id, day, event, count) SELECT account_id, day, event, count FROM `+pgDailyIn+
			` ON CONFLICT (account_id, day, event) DO UPDATE SET count = usage_daily.count + excluded.count`); err != nil {
		return fmt.Errorf("store daily usage: %w", err)
	}
	return nil
}

// userDaysUpsert adds a row's days to a stored row's; the WHERE leaves a
// row whose days are all stored already as it is (no new row version).
const userDaysUpsert = ` ON CONFLICT (account_id, span, user_id) DO UPDATE SET days = usage_user_days.days | excluded.days
	WHERE usage_user_days.days | excluded.days <> usage_user_days.days`

func (s *pgSide) active(ctx context.Context, b *activeBatch) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	rows := b.spans()
	if n := len(rows); n <= pgArrayRows || s.w.pace > 0 {
		err := s.paced(n, func(start, end int) error {
			m := end - start
			accounts, spans, users, days := make([]string, m), make([]int32, m), make([]string, m), make([]int64, m)
			for i, r := range rows[start:end] {
				accounts[i], spans[i], users[i], days[i] = b.accounts[r.account], r.span, b.users[r.user], r.days
			}
			_, err := s.w.tx.ExecContext(ctx, `INSERT INTO usage_user_days (account_id, span, user_id, days)
				SELECT * FROM unnest(CAST($1 AS TEXT[]), CAST($2 AS INTEGER[]), CAST($3 AS TEXT[]), CAST($4 AS BIGINT[]))`+userDaysUpsert,
				accounts, spans, users, days)
			return err
		})
		if err != nil {
			return fmt.Errorf("store daily active users: %w", err)
		}
		return nil
	}
	columns := []string{"account_id", "span", "user_id", "days"}
	copyTo := func(table string) error {
		_, err := store.CopyBinary(ctx, s.w.conn, table, columns, len(rows), func(i int, c *store.CopyRow) {
			r := &rows[i]
			c.Text(b.accounts[r.account])
			c.Int4(r.span)
			c.Text(b.users[r.user])
			c.Int8(r.days)
		})
		return err
	}
	if err := s.writeRollups(ctx, "usage_user_days", pgActiveIn, b.accounts, "span", b.keys.minDay>>6, b.keys.maxDay>>6, copyTo,
		`INSERT INTO usage_user_days (account_id, span, user_id, days) SELECT account_id, span, user_id, days FROM `+pgActiveIn+userDaysUpsert); err != nil {
		return fmt.Errorf("store daily active users: %w", err)
	}
	return nil
}
