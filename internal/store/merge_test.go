package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

const mergeTargetDDL = `CREATE TABLE merge_target (
	k TEXT PRIMARY KEY, a TEXT, b BIGINT,
	recorded_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`

type mergeRow struct {
	K        string
	A        *string
	B        *int64
	Recorded int64
	Updated  int64
}

func str(s string) *string { return &s }
func i64(v int64) *int64   { return &v }

// stageAndMerge loads rows (k, a, b) into a fresh staging table and merges
// them into merge_target at time now, returning the rows merged.
func stageAndMerge(t *testing.T, db *store.DB, m store.Merge, rows [][]any) int64 {
	t.Helper()
	ctx := context.Background()
	var n int64
	inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
		if err := db.CreateTempTable(ctx, tx, m.Stage, "line BIGINT NOT NULL, k TEXT NOT NULL, a TEXT, b BIGINT"); err != nil {
			t.Fatal(err)
		}
		l := db.NewBulkLoader(conn, tx, m.Stage, []string{"line", "k", "a", "b"})
		for i, r := range rows {
			if err := l.Add(ctx, append([]any{i + 1}, r...)...); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		var err error
		n, err = store.MergeStaged(ctx, tx, m)
		if err != nil {
			t.Fatalf("MergeStaged: %v", err)
		}
		db.DropTempTable(ctx, tx, m.Stage)
	})
	return n
}

func readTarget(t *testing.T, db *store.DB) map[string]mergeRow {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT k, a, b, recorded_at, updated_at FROM merge_target`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]mergeRow{}
	for rows.Next() {
		var r mergeRow
		var a sql.NullString
		var b sql.NullInt64
		if err := rows.Scan(&r.K, &a, &b, &r.Recorded, &r.Updated); err != nil {
			t.Fatal(err)
		}
		if a.Valid {
			r.A = &a.String
		}
		if b.Valid {
			r.B = &b.Int64
		}
		out[r.K] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMergeStaged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, mergeTargetDDL); err != nil {
			t.Fatal(err)
		}
		m := func(now int64) store.Merge {
			return store.Merge{Stage: "stage_merge", Target: "merge_target", Key: []string{"k"}, Columns: []string{"a", "b"}, Now: now}
		}
		base := [][]any{
			{"k1", "x", int64(1)},
			{"k2", nil, int64(2)},
			{"k3", "z", nil},
		}
		want := map[string]mergeRow{
			"k1": {K: "k1", A: str("x"), B: i64(1), Recorded: 100, Updated: 100},
			"k2": {K: "k2", B: i64(2), Recorded: 100, Updated: 100},
			"k3": {K: "k3", A: str("z"), Recorded: 100, Updated: 100},
		}
		steps := []struct {
			name   string
			now    int64
			rows   [][]any
			merged int64
			change func() // edits want
		}{
			{"insert", 100, base, 3, func() {}},
			{"same rows again", 200, base, 0, func() {}},
			{"one value changes", 300, [][]any{{"k1", "x", int64(1)}, {"k2", nil, int64(2)}, {"k3", "zz", nil}}, 1,
				func() { want["k3"] = mergeRow{K: "k3", A: str("zz"), Recorded: 100, Updated: 300} }},
			{"NULL becomes a value", 400, [][]any{{"k2", "now-set", int64(2)}}, 1,
				func() { want["k2"] = mergeRow{K: "k2", A: str("now-set"), B: i64(2), Recorded: 100, Updated: 400} }},
			{"a value becomes NULL", 500, [][]any{{"k1", "x", nil}}, 1,
				func() { want["k1"] = mergeRow{K: "k1", A: str("x"), Recorded: 100, Updated: 500} }},
			{"NULL stays NULL", 600, [][]any{{"k1", "x", nil}, {"k3", "zz", nil}}, 0, func() {}},
			{"empty string is not NULL", 700, [][]any{{"k1", "", nil}}, 1,
				func() { want["k1"] = mergeRow{K: "k1", A: str(""), Recorded: 100, Updated: 700} }},
			{"insert one, keep one", 800, [][]any{{"k1", "", nil}, {"k4", "new", int64(4)}}, 1,
				func() { want["k4"] = mergeRow{K: "k4", A: str("new"), B: i64(4), Recorded: 800, Updated: 800} }},
			{"nothing staged", 900, nil, 0, func() {}},
		}
		for _, s := range steps {
			got := stageAndMerge(t, db, m(s.now), s.rows)
			if got != s.merged {
				t.Errorf("%s: merged %d rows, want %d", s.name, got, s.merged)
			}
			s.change()
			if tab := readTarget(t, db); !reflect.DeepEqual(tab, want) {
				t.Fatalf("%s: table =\n%s\nwant\n%s", s.name, dump(tab), dump(want))
			}
		}
	})
}

func TestMergeStagedWhereAndKeyOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, mergeTargetDDL); err != nil {
			t.Fatal(err)
		}
		rows := [][]any{{"k1", "keep", int64(1)}, {"k2", "skip", int64(2)}, {"k3", "keep", int64(3)}}
		n := stageAndMerge(t, db, store.Merge{Stage: "stage_merge", Target: "merge_target", Key: []string{"k"},
			Columns: []string{"a", "b"}, Where: "s.a = 'keep'", Now: 10}, rows)
		if n != 2 {
			t.Fatalf("merged %d rows with a filter, want 2", n)
		}
		tab := readTarget(t, db)
		if _, ok := tab["k2"]; ok || len(tab) != 2 {
			t.Fatalf("table = %s, want k1 and k3 only", dump(tab))
		}

		// Key only (no other columns): insert new keys, leave existing rows alone.
		if _, err := db.ExecContext(ctx, `CREATE TABLE key_only (k TEXT PRIMARY KEY, recorded_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int64{2, 0} {
			var got int64
			inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
				if err := db.CreateTempTable(ctx, tx, "stage_keys", "k TEXT NOT NULL"); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO stage_keys (k) VALUES ('a'), ('b')`); err != nil {
					t.Fatal(err)
				}
				var err error
				got, err = store.MergeStaged(ctx, tx, store.Merge{Stage: "stage_keys", Target: "key_only", Key: []string{"k"}, Now: int64(i + 1)})
				if err != nil {
					t.Fatal(err)
				}
				db.DropTempTable(ctx, tx, "stage_keys")
			})
			if got != want {
				t.Fatalf("key-only merge %d: merged %d, want %d", i+1, got, want)
			}
		}
		var maxUpdated int64
		if err := db.QueryRowContext(ctx, `SELECT MAX(updated_at) FROM key_only`).Scan(&maxUpdated); err != nil || maxUpdated != 1 {
			t.Fatalf("key-only updated_at = %d, %v; want 1 (untouched by the second merge)", maxUpdated, err)
		}
	})
}

func TestMergeStagedCompositeKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE ck (a TEXT NOT NULL, b BIGINT NOT NULL, v DOUBLE PRECISION,
			recorded_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (a, b))`); err != nil {
			t.Fatal(err)
		}
		merge := func(now int64, rows [][]any) int64 {
			var n int64
			inTx(t, db, func(conn *sql.Conn, tx *sql.Tx) {
				if err := db.CreateTempTable(ctx, tx, "stage_ck", "a TEXT NOT NULL, b BIGINT NOT NULL, v DOUBLE PRECISION"); err != nil {
					t.Fatal(err)
				}
				l := db.NewBulkLoader(conn, tx, "stage_ck", []string{"a", "b", "v"})
				for _, r := range rows {
					if err := l.Add(ctx, r...); err != nil {
						t.Fatal(err)
					}
				}
				if err := l.Close(ctx); err != nil {
					t.Fatal(err)
				}
				var err error
				if n, err = store.MergeStaged(ctx, tx, store.Merge{Stage: "stage_ck", Target: "ck", Key: []string{"a", "b"}, Columns: []string{"v"}, Now: now}); err != nil {
					t.Fatal(err)
				}
				db.DropTempTable(ctx, tx, "stage_ck")
			})
			return n
		}
		if n := merge(1, [][]any{{"x", int64(1), 1.5}, {"x", int64(2), 2.5}, {"y", int64(1), nil}}); n != 3 {
			t.Fatalf("first merge: %d, want 3", n)
		}
		if n := merge(2, [][]any{{"x", int64(1), 1.5}, {"x", int64(2), 2.75}, {"y", int64(1), nil}, {"y", int64(2), 0.0}}); n != 2 {
			t.Fatalf("second merge: %d, want 2 (one changed, one new)", n)
		}
		var sum float64
		var count int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(v) FROM ck`).Scan(&count, &sum); err != nil || count != 4 || sum != 1.5+2.75 {
			t.Fatalf("ck: %d rows, sum %v, %v; want 4 rows, sum 4.25", count, sum, err)
		}
	})
}

func TestMergeStagedBadTarget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if err := db.CreateTempTable(ctx, tx, "stage_x", "k TEXT NOT NULL"); err != nil {
			t.Fatal(err)
		}
		_, err = store.MergeStaged(ctx, tx, store.Merge{Stage: "stage_x", Target: "nope", Key: []string{"k"}, Now: 1})
		if err == nil || !strings.Contains(err.Error(), "merge into nope") {
			t.Fatalf("merge into a missing table: err = %v", err)
		}
	})
}

func TestDay(t *testing.T) {
	for _, c := range []struct {
		ts, day int64
	}{
		{0, 0},
		{1, 0},
		{86399, 0},
		{86400, 1},
		{86401, 1},
		{-1, -1},
		{-86399, -1},
		{-86400, -1},
		{-86401, -2},
		{-172800, -2},
		{-172801, -3},
		{1704067200, 19723},     // 2024-01-01T00:00:00Z
		{1714607999, 19844},     // 2024-05-01T23:59:59Z
		{1714608000, 19845},     // 2024-05-02T00:00:00Z
		{-2208988800, -25567},   // 1900-01-01T00:00:00Z
		{-2208988801, -25568},   // 1899-12-31T23:59:59Z
		{253402300799, 2932896}, // 9999-12-31T23:59:59Z
	} {
		if got := store.Day(c.ts); got != c.day {
			t.Errorf("Day(%d) = %d, want %d", c.ts, got, c.day)
		}
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := store.NewID("n_")
		if !strings.HasPrefix(id, "n_") || len(id) != 2+16 {
			t.Fatalf("NewID(n_) = %q, want n_ and 16 characters", id)
		}
		if strings.Trim(id[2:], "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("NewID = %q: not lower-case base32", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q after %d ids", id, i)
		}
		seen[id] = true
	}
	if id := store.NewID(""); len(id) != 16 {
		t.Fatalf("NewID(\"\") = %q, want 16 characters", id)
	}
}

func dump(m map[string]mergeRow) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		r := m[k]
		a, bb := "NULL", "NULL"
		if r.A != nil {
			a = fmt.Sprintf("%q", *r.A)
		}
		if r.B != nil {
			bb = fmt.Sprint(*r.B)
		}
		fmt.Fprintf(&b, "  %s: a=%s b=%s recorded=%d updated=%d\n", k, a, bb, r.Recorded, r.Updated)
	}
	return b.String()
}
