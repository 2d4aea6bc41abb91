package survey_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// withStage loads rows into a temporary staging table laid out as
// "line BIGINT NOT NULL, " + ddl (lines numbered 2, 3, … as under a CSV
// header), then runs fn in the same transaction, which it commits.
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

func mustAccounts(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := account.Upsert(context.Background(), db, account.Account{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
}
