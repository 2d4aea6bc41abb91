package account_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// withStage loads rows into a temporary staging table laid out as
// "line BIGINT NOT NULL, " + ddl (line numbers from 2, as in a CSV file under
// its header), then runs fn in the same transaction, which it commits.
func withStage(t *testing.T, db *store.DB, name, ddl string, columns []string, rows [][]any, fn func(tx *sql.Tx)) {
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

// lineValue is one (line, value) row of MissingSQL and MissingParentsSQL.
type lineValue struct {
	Line  int64
	Value string
}

func queryLineValues(t *testing.T, q store.Querier, query string) []lineValue {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), query+" ORDER BY 1")
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []lineValue
	for rows.Next() {
		var lv lineValue
		if err := rows.Scan(&lv.Line, &lv.Value); err != nil {
			t.Fatal(err)
		}
		out = append(out, lv)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
