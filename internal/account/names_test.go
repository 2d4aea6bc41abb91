package account_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		want := map[string]string{}
		var ids []string
		// More than one chunk of ids, and one that does not exist.
		for i := range store.MaxInList + 5 {
			id := fmt.Sprintf("n%04d", i)
			if i%400 == 0 {
				if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "Name " + id}); err != nil {
					t.Fatal(err)
				}
				want[id] = "Name " + id
			}
			ids = append(ids, id)
		}
		got, err := account.Names(ctx, db, append(ids, "missing"))
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("Names = %v, want %v", got, want)
		}
	})
}
