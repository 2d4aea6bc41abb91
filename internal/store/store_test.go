package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestMigrateAndReady(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != store.LatestVersion() || v < 1 {
			t.Fatalf("schema version = %d, want latest %d", v, store.LatestVersion())
		}
		if err := db.Ready(ctx); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		var cur string
		if err := db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'reporting_currency'`).Scan(&cur); err != nil || cur != "USD" {
			t.Fatalf("reporting currency = %q, %v", cur, err)
		}
		// Migrating again is a no-op.
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	open := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "k.db") },
	}
	if storetest.PostgresAvailable() {
		open["postgres"] = func(t *testing.T) string { return storetest.PostgresURL(t) }
	}
	for name, dsn := range open {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			db, err := store.Open(ctx, d, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Pretend a newer Kizuna migrated this database.
			next := store.LatestVersion() + 1
			if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, next); err != nil {
				t.Fatal(err)
			}
			db.Close()
			for _, opts := range []store.Options{{}, {NoMigrate: true}} {
				_, err = store.Open(ctx, d, opts)
				if !errors.Is(err, store.ErrSchemaTooNew) {
					t.Fatalf("Open(%+v) on a newer schema: err = %v, want ErrSchemaTooNew", opts, err)
				}
			}
		})
	}
}

func TestIsPostgresURL(t *testing.T) {
	for in, want := range map[string]bool{
		"kizuna.db":                    false,
		"/var/lib/kizuna/k.db":         false,
		"postgres://u@h/db":            true,
		"postgresql://u@h:5432/db?x=y": true,
	} {
		if got := store.IsPostgresURL(in); got != want {
			t.Errorf("IsPostgresURL(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "odd#name?x=1 100%.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at the path given: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != filepath.Base(path) && e.Name() != filepath.Base(path)+"-wal" && e.Name() != filepath.Base(path)+"-shm" {
			t.Errorf("unexpected file %q beside the database", e.Name())
		}
	}
}

// A new SQLite database gets 16 KiB pages and WAL; one created with
// another page size keeps it (changing it needs a VACUUM outside WAL).
func TestSQLitePageSize(t *testing.T) {
	ctx := context.Background()
	pragmas := func(t *testing.T, db *store.DB) (int64, string) {
		t.Helper()
		var size int64
		var mode string
		if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return size, mode
	}
	t.Run("new", func(t *testing.T) {
		db := storetest.SQLite(t)
		if size, mode := pragmas(t, db); size != 16384 || mode != "wal" {
			t.Fatalf("page_size %d, journal_mode %s; want 16384, wal", size, mode)
		}
		// Every connection of the pool reads through the map.
		conns := make([]*sql.Conn, 3)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
			var mmap int64
			if err := c.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap); err != nil {
				t.Fatal(err)
			}
			if mmap != 256<<20 {
				t.Errorf("connection %d: mmap_size %d, want %d", i, mmap, 256<<20)
			}
		}
	})
	t.Run("existing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old?#%.db") // characters a URI path must escape
		old, err := sql.Open("sqlite", "file:"+strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)+"?_pragma=page_size(4096)")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Exec("CREATE TABLE before_kizuna (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
		old.Close()
		db, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if size, mode := pragmas(t, db); size != 4096 || mode != "wal" {
			t.Fatalf("page_size %d, journal_mode %s; want 4096 kept, wal", size, mode)
		}
	})
}
