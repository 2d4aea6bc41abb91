package csvimport_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestCheckOnly proves that a check reports what an import would do and
// writes nothing, for a staged kind and for events (which skip staging).
func TestCheckOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		mustImport(t, db, "accounts", baseAccounts)
		for _, tc := range []struct {
			kind, csv, table       string
			rows, inserted, before int64
		}{
			{"accounts", "account_id,name\nA1,Acme\nA3,Gamma\nA4,Delta\n", "accounts", 3, 2, 2},
			{"events", "account_id,user_id,event,timestamp\nA1,u1,login,2026-01-05T10:00:00Z\nA2,u2,login,2026-01-05T11:00:00Z\n",
				"events", 2, 2, 0},
		} {
			var rowsSeen int64
			res, err := importString(t, db, tc.kind, tc.csv, csvimport.Options{CheckOnly: true, RowsRead: func(n int64) { rowsSeen = n }})
			if err != nil {
				t.Fatalf("%s: %v", tc.kind, err)
			}
			if res.Committed || !res.CheckOnly || res.Rows != tc.rows || res.Inserted != tc.inserted {
				t.Errorf("%s: result %+v, want %d rows, %d new, not committed", tc.kind, res, tc.rows, tc.inserted)
			}
			if rowsSeen != tc.rows {
				t.Errorf("%s: RowsRead saw %d rows, want %d", tc.kind, rowsSeen, tc.rows)
			}
			if n := count(t, db, tc.table); n != tc.before {
				t.Errorf("%s: %s has %d rows after a check, want %d (nothing written)", tc.kind, tc.table, n, tc.before)
			}
		}
		res, _ := importString(t, db, "accounts", "account_id,name\nA9,Nine\n", csvimport.Options{CheckOnly: true})
		if got, want := res.Summary(), "accounts.csv: checked 1 rows, all valid (1 would be new, 0 updated, 0 unchanged); nothing written"; got != want {
			t.Errorf("summary = %q, want %q", got, want)
		}
	})
}

// TestBeforeCommit proves the hook runs inside the import's transaction
// with the final counts: what it writes commits with the rows, and when it
// fails nothing is written.
func TestBeforeCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var seen csvimport.Result
		hook := func(ctx context.Context, tx *sql.Tx, res *csvimport.Result) error {
			seen = *res
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('test.hook', 'ran')`)
			return err
		}
		if _, err := importString(t, db, "accounts", baseAccounts, csvimport.Options{BeforeCommit: hook}); err != nil {
			t.Fatal(err)
		}
		if seen.Rows != 2 || seen.Inserted != 2 {
			t.Errorf("the hook saw %+v, want 2 rows, 2 new", seen)
		}
		if n := count(t, db, "settings WHERE key = 'test.hook'"); n != 1 {
			t.Errorf("the hook's row: %d, want 1", n)
		}
		failing := func(context.Context, *sql.Tx, *csvimport.Result) error { return errors.New("audit log full") }
		for _, tc := range []struct{ kind, csv, table string }{
			{"accounts", "account_id,name\nA7,Seven\n", "accounts"},
			{"events", "account_id,user_id,event,timestamp\nA1,u1,login,2026-01-05T10:00:00Z\n", "events"},
		} {
			before := count(t, db, tc.table)
			res, err := importString(t, db, tc.kind, tc.csv, csvimport.Options{BeforeCommit: failing})
			if err == nil || !strings.Contains(err.Error(), "audit log full") || res.Committed {
				t.Errorf("%s: a failing hook gave %v, committed %v", tc.kind, err, res.Committed)
			}
			if n := count(t, db, tc.table); n != before {
				t.Errorf("%s: %d rows after a failed hook, want %d", tc.kind, n, before)
			}
		}
	})
}

func TestColumns(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		want   string
		custom bool
	}{
		{"accounts", "account_id*,name,signup_at,owner_email,parent_account_id", true},
		{"costs", "month*,kind*,amount*,currency", false},
		{"nope", "", false},
	} {
		cols, custom := csvimport.Columns(tc.kind)
		if got := strings.Join(cols, ","); got != tc.want || custom != tc.custom {
			t.Errorf("Columns(%s) = %s, %v; want %s, %v", tc.kind, got, custom, tc.want, tc.custom)
		}
	}
}
