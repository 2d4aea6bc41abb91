package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestSQLiteParams(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE a = $1 AND b = $2", "SELECT a FROM t WHERE a = ? AND b = ?"},
		// A repeat, and a number out of order, keep their number.
		{"WHERE d > $1 - 30 AND d <= $1 AND e = $2", "WHERE d > ? - 30 AND d <= ?1 AND e = ?"},
		{"WHERE a = $2 AND b = $1", "WHERE a = ?2 AND b = ?1"},
		{"WHERE a = $2 AND b = $1 AND c = $3", "WHERE a = ?2 AND b = ?1 AND c = ?"},
		{"VALUES ($1,$2),($3,$4)", "VALUES (?,?),(?,?)"},
		{"WHERE a IN ($10, $11)", "WHERE a IN (?10, ?)"},
		// Strings, quoted names and comments are not parameters.
		{"SELECT json_extract(p, '$.a'), '$1', \"$2\" FROM t WHERE a = $1", "SELECT json_extract(p, '$.a'), '$1', \"$2\" FROM t WHERE a = ?"},
		{"SELECT 'it''s $1' WHERE a = $1", "SELECT 'it''s $1' WHERE a = ?"},
		{"SELECT a -- $1\nWHERE a = $1 /* $2 */ AND b = $2", "SELECT a -- $1\nWHERE a = ? /* $2 */ AND b = ?"},
		{"SELECT [$1], `$2` WHERE a = $1", "SELECT [$1], `$2` WHERE a = ?"},
		// Other kinds of parameters, or names with $, leave the text alone.
		{"WHERE a = ? AND b = $1", "WHERE a = ? AND b = $1"},
		{"WHERE a = :x AND b = $1", "WHERE a = :x AND b = $1"},
		{"WHERE a = @x AND b = $1", "WHERE a = @x AND b = $1"},
		{"WHERE a = $x AND b = $1", "WHERE a = $x AND b = $1"},
		{"WHERE a$1 = $1", "WHERE a$1 = $1"},
		{"WHERE a = $1b", "WHERE a = $1b"},
		{"WHERE a = 'open $1", "WHERE a = 'open $1"},
		{"WHERE a = $0", "WHERE a = $0"},
	}
	for _, tt := range tests {
		if got := sqliteParams(tt.in); got != tt.want {
			t.Errorf("sqliteParams(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestSQLiteParamsBind runs rewritten statements on a database: each value
// reaches the parameter its $N names, repeated and out of order ones too,
// and a statement of many parameters binds every one.
func TestSQLiteParamsBind(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.QueryRowContext(ctx, `SELECT $2 || $1 || $2 || $3 || '$1'`, "a", "b", "c").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "babc$1" {
		t.Errorf("got %q, want babc$1", got)
	}
	const n = 3000
	args := make([]any, n)
	for i := range args {
		args[i] = int64(i + 1)
	}
	var sum, count int64
	values := "(" + strings.ReplaceAll(Placeholders(1, n), ", ", "), (") + ")"
	if err := db.QueryRowContext(ctx, `SELECT SUM(column1), COUNT(*) FROM (VALUES `+values+`)`, args...).Scan(&sum, &count); err != nil {
		t.Fatal(err)
	}
	if count != n || sum != n*(n+1)/2 {
		t.Errorf("sum, count = %d, %d; want %d, %d", sum, count, n*(n+1)/2, n)
	}
}
