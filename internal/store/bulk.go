package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"fmt"
	"strings"
	"time"
)

// NewID returns a random, URL-safe id with the given prefix ("n_…" for a note).
func NewID(prefix string) string {
	var b [10]byte
	rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Now is the current time in unix seconds, as stored in recorded_at and updated_at.
func Now() int64 { return time.Now().Unix() }

// Day is the day number (days since 1970-01-01 UTC) of unix time ts.
func Day(ts int64) int64 {
	if ts < 0 {
		return (ts - 86399) / 86400
	}
	return ts / 86400
}

// BulkLoader appends rows to one table inside a transaction: with COPY on
// PostgreSQL, with multi-row INSERTs on SQLite. It is for staging tables
// that a set-based statement then merges into the real ones.
type BulkLoader struct {
	db      *DB
	conn    *sql.Conn
	tx      *sql.Tx
	table   string
	columns []string
	pending [][]any
	flushAt int
	stmt    *sql.Stmt // SQLite: the full-size multi-row INSERT, prepared once
	Loaded  int64
}

// NewBulkLoader returns a loader for table; tx must run on conn.
func (db *DB) NewBulkLoader(conn *sql.Conn, tx *sql.Tx, table string, columns []string) *BulkLoader {
	l := &BulkLoader{db: db, conn: conn, tx: tx, table: table, columns: columns}
	if db.Dialect == Postgres {
		l.flushAt = 20000
	} else {
		// SQLite allows 32766 bound variables a statement.
		l.flushAt = min(1000, 32000/len(columns))
	}
	return l
}

// Add queues one row; it flushes when enough are queued. The row is copied.
func (l *BulkLoader) Add(ctx context.Context, row ...any) error {
	l.pending = append(l.pending, append([]any(nil), row...))
	if len(l.pending) >= l.flushAt {
		return l.Flush(ctx)
	}
	return nil
}

// Flush writes the queued rows.
func (l *BulkLoader) Flush(ctx context.Context) error {
	if len(l.pending) == 0 {
		return nil
	}
	rows := l.pending
	l.pending = l.pending[:0:0]
	if l.db.Dialect == Postgres {
		n, err := CopyFrom(ctx, l.conn, l.table, l.columns, rows)
		l.Loaded += n
		return err
	}
	var stmt *sql.Stmt
	if len(rows) == l.flushAt {
		if l.stmt == nil {
			s, err := l.tx.PrepareContext(ctx, l.insertSQL(len(rows)))
			if err != nil {
				return fmt.Errorf("load %s: %w", l.table, err)
			}
			l.stmt = s
		}
		stmt = l.stmt
	}
	args := make([]any, 0, len(rows)*len(l.columns))
	for _, r := range rows {
		args = append(args, r...)
	}
	var err error
	if stmt != nil {
		_, err = stmt.ExecContext(ctx, args...)
	} else {
		_, err = l.tx.ExecContext(ctx, l.insertSQL(len(rows)), args...)
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", l.table, err)
	}
	l.Loaded += int64(len(rows))
	return nil
}

// Close flushes what is left and releases the prepared statement.
func (l *BulkLoader) Close(ctx context.Context) error {
	err := l.Flush(ctx)
	if l.stmt != nil {
		l.stmt.Close()
		l.stmt = nil
	}
	return err
}

// insertSQL is only used on SQLite. It uses positional ? placeholders, which
// SQLite binds without a lookup (see sqliteParams).
func (l *BulkLoader) insertSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(l.table)
	b.WriteString(" (")
	b.WriteString(strings.Join(l.columns, ", "))
	b.WriteString(") VALUES ")
	one := "(" + strings.Repeat("?,", len(l.columns)-1) + "?)"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

// CreateTempTable creates an empty temporary table for staging, dropped when
// the transaction ends on PostgreSQL and by DropTempTable on SQLite.
func (db *DB) CreateTempTable(ctx context.Context, q Querier, name, columnsDDL string) error {
	if _, err := q.ExecContext(ctx, "DROP TABLE IF EXISTS "+db.tempSchema()+"."+name); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	ddl := "CREATE TEMP TABLE " + name + " (" + columnsDDL + ")"
	if db.Dialect == Postgres {
		ddl += " ON COMMIT DROP"
	}
	if _, err := q.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return nil
}

// DropTempTable drops a staging table (a no-op on PostgreSQL after commit).
func (db *DB) DropTempTable(ctx context.Context, q Querier, name string) {
	q.ExecContext(ctx, "DROP TABLE IF EXISTS "+db.tempSchema()+"."+name)
}

// tempSchema qualifies temporary tables, so that dropping one can never
// drop a real table of the same name.
func (db *DB) tempSchema() string {
	if db.Dialect == Postgres {
		return "pg_temp"
	}
	return "temp"
}

// DayString formats a day number as YYYY-MM-DD.
func DayString(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format("2006-01-02")
}
