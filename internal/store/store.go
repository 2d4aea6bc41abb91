// Package store opens Kizuna's database (embedded SQLite or PostgreSQL),
// applies the embedded migrations and hides the few differences between the
// two dialects. Domain packages own their tables and queries; they run them
// through a [Querier], which both *sql.DB and *sql.Tx satisfy.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect names the SQL dialect of an open database.
type Dialect string

// The two supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what domain packages need to run SQL: *sql.DB, *sql.Conn and
// *sql.Tx all satisfy it, so the same function works inside and outside a
// transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open Kizuna database.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Location is the file path (SQLite) or the URL without password (PostgreSQL), for messages.
	Location string
}

// Options tune [Open].
type Options struct {
	// NoMigrate leaves the schema as it is (used by `kizuna migrate --status` and tests of the guard).
	NoMigrate bool
}

// IsPostgresURL reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn (a SQLite file path or a postgres:// URL),
// applies pending migrations and refuses a schema newer than this binary knows.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("open database: no database given (--db or KIZUNA_DB)")
	}
	var db *DB
	if IsPostgresURL(dsn) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", redact(dsn), err)
		}
		// JIT compilation off unless the URL asks for it (jit=on): it
		// compiles a statement whose estimated cost passes jit_above_cost,
		// about 100 ms, and tables filled since their last ANALYZE (a first
		// recompute's) look costly. A 4 ms read of one batch's stages took
		// 288 ms with it; a first recompute of a million accounts spent
		// most of its lifecycle stage's 215 s compiling.
		if _, ok := cfg.RuntimeParams["jit"]; !ok {
			cfg.RuntimeParams["jit"] = "off"
		}
		sdb := stdlib.OpenDB(*cfg)
		sdb.SetMaxOpenConns(16)
		sdb.SetMaxIdleConns(16)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
		db = &DB{DB: sdb, Dialect: Postgres, Location: redact(dsn)}
	} else {
		path := strings.TrimPrefix(dsn, "sqlite://")
		// WAL lets readers run beside the single writer; FULL synchronous makes a
		// committed transaction survive a power cut, not only a killed process;
		// _txlock=immediate takes the write lock at BEGIN so two writers queue on
		// busy_timeout instead of failing with SQLITE_BUSY halfway through.
		// mmap_size maps the file's first sqliteMmapSize bytes for reading.
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(10000)", "synchronous(FULL)", "temp_store(FILE)", "cache_size(-65536)",
			"mmap_size(" + strconv.Itoa(sqliteMmapSize) + ")"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		// The path is a URI path here: escape what would end it early (? and #) or be decoded (%).
		escaped := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
		if err := createSQLite(ctx, path, escaped); err != nil {
			return nil, err
		}
		sdb, err := sql.Open(sqliteDriver, "file:"+escaped+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
		sdb.SetMaxOpenConns(8)
		sdb.SetMaxIdleConns(8)
		db = &DB{DB: sdb, Dialect: SQLite, Location: path}
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", db.Location, err)
	}
	if !opts.NoMigrate {
		if err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	} else if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sqliteMmapSize is how much of a SQLite database file its connections
// read through a memory map. Without one every page a query reads is
// copied into a page-cache buffer of the connection's own, and each commit
// by another connection empties that cache (WAL), so a reader beside a busy
// writer read, allocated and freed (madvise) every page again: a full
// recompute of 100,000 accounts spent a third less time reading with the
// file mapped, and its system time fell from 2.4 s to 0.9 s. The mapped
// pages are the kernel's page cache, but they count in the process's
// resident set: mapping SQLite's most (2 GiB) took a recompute of 1,000,000
// accounts to a peak RSS of 2.7 GB, against 0.34 GB unmapped, and 512 MiB
// to 0.93 GB, for the same time as 256 MiB (0.63 GB): 42 s against 45 s
// unmapped and 37 s with 2 GiB, for a recompute writing nothing new.
// Writes still go through the WAL file, not the map.
const sqliteMmapSize = 256 << 20

// sqlitePageSize is the page size of a new SQLite database: a quarter of
// the pages of the default 4096 to read, write and balance for the same rows
// (a CSV import of a million events spends a fifth less CPU time).
const sqlitePageSize = 16384

// createSQLite creates the database file at path, when there is none yet,
// with sqlitePageSize pages and in WAL mode. It cannot be left to the DSN's
// pragmas: modernc.org/sqlite runs them sorted by name, so journal_mode(WAL)
// ran before page_size(16384), and a database in WAL mode keeps the page
// size it was created with. escaped is path as a URI path.
func createSQLite(ctx context.Context, path, escaped string) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	}
	sdb, err := sql.Open("sqlite", "file:"+escaped)
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	defer sdb.Close()
	conn, err := sdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	defer conn.Close()
	for _, q := range []string{"PRAGMA page_size = " + strconv.Itoa(sqlitePageSize), "PRAGMA journal_mode = WAL"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create database %s: %s: %w", path, q, err)
		}
	}
	return nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

func (db *DB) provider() (*goose.Provider, error) {
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	gm, err := goMigrations(db.Dialect)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db.DB, sub, goose.WithGoMigrations(gm...))
}

// LatestVersion is the newest migration this binary carries.
func LatestVersion() int64 {
	entries, _ := fs.ReadDir(migrations, "migrations")
	var latest int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	for _, m := range dialectSpecific {
		latest = max(latest, m.version)
	}
	return latest
}

// SchemaVersion is the migration version the database is at (0 when empty).
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version of %s: %w", db.Location, err)
	}
	return v, nil
}

// ErrSchemaTooNew is returned when the database was migrated by a newer Kizuna.
var ErrSchemaTooNew = errors.New("database schema is newer than this kizuna")

// CheckSchema fails when the database holds a schema newer than this binary knows.
func (db *DB) CheckSchema(ctx context.Context) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if latest := LatestVersion(); v > latest {
		return fmt.Errorf("%w: %s is at version %d, this binary knows up to %d; run a newer kizuna", ErrSchemaTooNew, db.Location, v, latest)
	}
	return nil
}

// Migrate applies every pending migration, after refusing a schema that is newer than this binary.
func (db *DB) Migrate(ctx context.Context) error {
	if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	p, err := db.provider()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", db.Location, err)
	}
	return nil
}

// Ready reports whether the database answers and its schema is current.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v != LatestVersion() {
		return fmt.Errorf("schema at version %d, want %d", v, LatestVersion())
	}
	return nil
}

// InTx runs fn in a transaction on one connection, committing when fn returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CopyFrom bulk-loads rows into table on PostgreSQL with COPY, inside the
// transaction tx that runs on conn. It is the one place Kizuna leaves
// database/sql for pgx, because COPY is several times faster than INSERT.
func CopyFrom(ctx context.Context, conn *sql.Conn, table string, columns []string, rows [][]any) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: not a PostgreSQL connection", table)
		}
		var err error
		n, err = c.Conn().CopyFrom(ctx, []string{table}, columns, pgxRows(rows))
		return err
	})
	if err != nil {
		return n, fmt.Errorf("copy into %s: %w", table, err)
	}
	return n, nil
}
