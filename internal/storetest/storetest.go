// Package storetest gives each test a fresh, migrated database: SQLite always,
// and PostgreSQL too when KIZUNA_TEST_POSTGRES holds a URL (CI sets it), so
// every store test runs on both.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/kizuna-cs/kizuna/internal/store"
)

// EnvPostgres names the environment variable holding the PostgreSQL test URL.
const EnvPostgres = "KIZUNA_TEST_POSTGRES"

// Each runs fn as a subtest once per available database, each with a fresh schema.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	}
}

// SQLite opens a fresh migrated SQLite database in the test's temporary directory.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "kizuna.db"), store.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL creates a fresh schema in the KIZUNA_TEST_POSTGRES database and
// returns a URL whose search_path points at it; the schema is dropped when the
// test ends. A schema per test is much faster than CREATE DATABASE.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("%s is not set", EnvPostgres)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a fresh migrated PostgreSQL schema.
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresURL(t), store.Options{})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresAvailable reports whether KIZUNA_TEST_POSTGRES is set.
func PostgresAvailable() bool { return os.Getenv(EnvPostgres) != "" }

// WithStage loads rows into a temporary staging table laid out as
// "line BIGINT NOT NULL, " + ddl (lines numbered 2, 3, … as under a CSV
// header), then runs fn in the same transaction, which it commits. It is how
// tests drive the domain packages' merge-from-staging functions.
func WithStage(t testing.TB, db *store.DB, name, ddl string, columns []string, rows [][]any, fn func(tx *sql.Tx)) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := db.CreateTempTable(ctx, tx, name, "line BIGINT NOT NULL, "+ddl); err != nil {
		t.Fatal(err)
	}
	l := db.NewBulkLoader(conn, tx, name, append([]string{"line"}, columns...))
	for i, r := range rows {
		if len(r) != len(columns) {
			t.Fatalf("staged row %d has %d values for %d columns", i, len(r), len(columns))
		}
		if err := l.Add(ctx, append([]any{int64(i + 2)}, r...)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	fn(tx)
	db.DropTempTable(ctx, tx, name)
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
}
