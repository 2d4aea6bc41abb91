package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestMigration39 turns the user-day rows into usage_user_days' span masks
// and back, on both databases: days at the edges of a span (0, 63, 64),
// bit 63 (the sign bit), a day before 1970, and users who share a span.
func TestMigration39(t *testing.T) {
	open := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "k.db") },
	}
	if storetest.PostgresAvailable() {
		open["postgres"] = func(t *testing.T) string { return storetest.PostgresURL(t) }
	}
	for name, where := range open {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, where(t), store.Options{NoMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := store.MigrateUpTo(ctx, db, 38); err != nil {
				t.Fatal(err)
			}
			userDays := []string{"a 0 u1", "a 63 u1", "a 64 u1", "a 64 u2", "a 127 u2", "a 20454 u1", "b -1 u1", "b 20455 u3"}
			for _, r := range userDays {
				var a, u string
				var d int64
				if _, err := fmt.Sscan(r, &a, &d, &u); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, `INSERT INTO usage_daily_users (account_id, day, user_id) VALUES ($1, $2, $3)`, a, d, u); err != nil {
					t.Fatal(err)
				}
			}
			read := func(q string) []string {
				t.Helper()
				rows, err := db.QueryContext(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var s string
					if err := rows.Scan(&s); err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				slices.Sort(out)
				return out
			}
			const byDay = `SELECT account_id || ' ' || CAST(day AS TEXT) || ' ' || user_id FROM usage_daily_users`
			want := slices.Clone(userDays)
			slices.Sort(want)
			if err := store.MigrateUpTo(ctx, db, 39); err != nil {
				t.Fatal(err)
			}
			// 20454 = 319·64 + 38, 20455 = 319·64 + 39, -1 = -1·64 + 63.
			if got, wantSpans := read(`SELECT account_id || ' ' || CAST(span AS TEXT) || ' ' || user_id || ' ' || CAST(days AS TEXT) FROM usage_user_days`), []string{
				"a 0 u1 -9223372036854775807", // bits 0 and 63
				"a 1 u1 1",
				"a 1 u2 -9223372036854775807",  // days 64 and 127
				"a 319 u1 274877906944",        // 1 << 38
				"b -1 u1 -9223372036854775808", // 1 << 63
				"b 319 u3 549755813888",        // 1 << 39
			}; !slices.Equal(got, wantSpans) {
				t.Errorf("usage_user_days after the migration:\n%q\nwant\n%q", got, wantSpans)
			}
			if got := read(byDay); !slices.Equal(got, want) {
				t.Errorf("the view usage_daily_users = %q, want %q", got, want)
			}
			if err := store.MigrateDownTo(ctx, db, 38); err != nil {
				t.Fatal(err)
			}
			if got := read(byDay); !slices.Equal(got, want) {
				t.Errorf("usage_daily_users after the down migration = %q, want %q", got, want)
			}
		})
	}
}
