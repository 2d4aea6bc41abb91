package account_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
)

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
