package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// DeferSync changes only the connection it is given, and restore puts
// store.Open's settings back before the connection returns to the pool;
// SyncWAL and Checkpoint work after commits on it.
func TestDeferSync(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, "CREATE TABLE wal_probe (n INTEGER)"); err != nil {
			t.Fatal(err)
		}
		// Two connections at most: the deferred one, and one beside it.
		db.SetMaxOpenConns(2)
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		restore, err := db.DeferSync(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		settings := func(q store.Querier) (sync, ckpt int64) {
			t.Helper()
			if db.Dialect != store.SQLite {
				return 0, 0
			}
			if err := q.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if err := q.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&ckpt); err != nil {
				t.Fatal(err)
			}
			return sync, ckpt
		}
		want := func(q store.Querier, what string, sync, ckpt int64) {
			t.Helper()
			if db.Dialect != store.SQLite {
				return
			}
			if s, c := settings(q); s != sync || c != ckpt {
				t.Errorf("%s: synchronous %d, wal_autocheckpoint %d; want %d, %d", what, s, c, sync, ckpt)
			}
		}
		want(conn, "deferred connection", 1, 16384) // NORMAL
		other, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want(other, "the connection beside it", 2, 1000) // FULL
		other.Close()

		for i := range 3 {
			if _, err := conn.ExecContext(ctx, "INSERT INTO wal_probe (n) VALUES ($1)", i); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SyncWAL(); err != nil {
			t.Fatalf("SyncWAL: %v", err)
		}
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatalf("Checkpoint: %v", err)
		}
		restore()
		want(conn, "restored", 2, 1000)
		conn.Close()
		// Both connections are back in the pool: each has Open's settings.
		a, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		want(a, "pooled", 2, 1000)
		want(b, "pooled", 2, 1000)
		var n int
		if err := a.QueryRowContext(ctx, "SELECT COUNT(*) FROM wal_probe").Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows = %d, %v; want 3", n, err)
		}
	})
}

// SyncWAL reports a log it cannot sync instead of acknowledging nothing.
func TestSyncWALMissing(t *testing.T) {
	db := storetest.SQLite(t)
	gone := *db
	gone.Location = t.TempDir() + "/none.db"
	err := gone.SyncWAL()
	if err == nil || !strings.Contains(err.Error(), "sync the write-ahead log") || !strings.Contains(err.Error(), "none.db-wal") {
		t.Fatalf("SyncWAL of a missing log: %v", err)
	}
}
