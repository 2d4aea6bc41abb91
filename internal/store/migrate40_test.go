package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestMigration40 gives usage_daily a fillfactor of 70 on PostgreSQL (and
// takes it back down), and is a no-op SQLite goes through both ways.
func TestMigration40(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		options := func() string {
			if db.Dialect != store.Postgres {
				return ""
			}
			var o sql.NullString
			if err := db.QueryRowContext(ctx, `SELECT array_to_string(reloptions, ',') FROM pg_class
				WHERE oid = to_regclass('usage_daily')`).Scan(&o); err != nil {
				t.Fatal(err)
			}
			return o.String
		}
		want := ""
		if db.Dialect == store.Postgres {
			want = "fillfactor=70"
		}
		if v, err := db.SchemaVersion(ctx); err != nil || v < 40 {
			t.Fatalf("schema version %d, %v: want 40 or later", v, err)
		}
		if got := options(); got != want {
			t.Errorf("usage_daily's storage parameters = %q, want %q", got, want)
		}
		if err := store.MigrateDownTo(ctx, db, 39); err != nil {
			t.Fatal(err)
		}
		if got := options(); got != "" {
			t.Errorf("after the down migration usage_daily's storage parameters = %q, want none", got)
		}
		if err := store.MigrateUpTo(ctx, db, 40); err != nil {
			t.Fatal(err)
		}
		if got := options(); got != want {
			t.Errorf("migrated up again, usage_daily's storage parameters = %q, want %q", got, want)
		}
	})
}
