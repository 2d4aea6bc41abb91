package account_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestWhere: a run of consecutive accounts is selected by key range, any
// other set by IN list, and either selects exactly the accounts given.
func TestWhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i := range 10 {
			if err := account.Upsert(ctx, db, account.Account{ID: fmt.Sprintf("acc_%02d", i), Name: "A"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			ids     []string
			isRange bool
		}{
			{[]string{"acc_02", "acc_03", "acc_04", "acc_05"}, true},
			{[]string{"acc_05", "acc_02", "acc_04", "acc_03"}, true}, // any order
			{[]string{"acc_02", "acc_03", "acc_05", "acc_06"}, false},
			{[]string{"acc_00", "acc_09"}, false},
			{[]string{"acc_07"}, false},
		} {
			cond, args, err := account.Where(ctx, db, "account_id", tt.ids, 2)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(cond, "BETWEEN"); got != tt.isRange {
				t.Errorf("Where(%v) = %q; want a range: %v", tt.ids, cond, tt.isRange)
			}
			rows, err := db.QueryContext(ctx, `SELECT account_id FROM accounts WHERE name = $1 AND `+cond+` ORDER BY account_id`, append([]any{"A"}, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got = append(got, id)
			}
			rows.Close()
			want := slices.Sorted(slices.Values(tt.ids))
			if !slices.Equal(got, want) {
				t.Errorf("Where(%v) selects %v", tt.ids, got)
			}
		}
		if _, _, err := account.Where(ctx, db, "account_id", make([]string, store.MaxInList+1), 1); err == nil {
			t.Error("Where of too many ids: no error")
		}
	})
}
