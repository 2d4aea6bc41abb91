package store_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestMigration41 keys events by (ts, message_id): the stored events and
// the unattributed index survive it both ways, the same id at another time
// is then another event, and going back fails while such a pair is stored.
func TestMigration41(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		exec := func(q string, args ...any) error {
			_, err := db.ExecContext(ctx, q, args...)
			return err
		}
		insert := func(id string, ts int64) error {
			return exec(`INSERT INTO events (message_id, account_id, user_id, event, ts, recorded_at) VALUES ($1, NULL, 'u1', 'login', $2, 1)`, id, ts)
		}
		count := func() (n int) {
			t.Helper()
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE account_id IS NULL AND user_id = 'u1'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := store.MigrateDownTo(ctx, db, 40); err != nil {
			t.Fatal(err)
		}
		for i, id := range []string{"m1", "m2", "m3"} {
			if err := insert(id, int64(100+i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := insert("m1", 200); err == nil {
			t.Fatal("at version 40 a message id took a second time")
		}
		if err := store.MigrateUpTo(ctx, db, 41); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 3 {
			t.Fatalf("%d events after the migration, want 3", n)
		}
		if err := insert("m1", 200); err != nil {
			t.Fatalf("m1 at another time: %v", err)
		}
		if err := insert("m1", 100); err == nil {
			t.Fatal("m1 at its time again was stored")
		}
		if err := store.MigrateDownTo(ctx, db, 40); err == nil {
			t.Fatal("went back to message_id alone with m1 stored twice")
		}
		if err := exec(`DELETE FROM events WHERE message_id = 'm1' AND ts = 200`); err != nil {
			t.Fatal(err)
		}
		if err := store.MigrateDownTo(ctx, db, 40); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 3 {
			t.Fatalf("%d events after the down migration, want 3", n)
		}
		if err := insert("m1", 200); err == nil {
			t.Fatal("after the down migration a message id took a second time")
		}
		if err := store.MigrateUpTo(ctx, db, 41); err != nil {
			t.Fatal(err)
		}
		// The partial index is there again (SQLite rebuilt the table).
		var indexes int
		q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_unattributed'`
		if db.Dialect == store.Postgres {
			q = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'events_unattributed'`
		}
		if err := db.QueryRowContext(ctx, q).Scan(&indexes); err != nil || indexes != 1 {
			t.Errorf("events_unattributed indexes: %d, %v", indexes, err)
		}
	})
}
