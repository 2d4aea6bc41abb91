package account_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestAttributesOf(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, a := range []account.Account{
			{ID: "a", Attributes: map[string]any{"seats": 25, "tier": "gold"}},
			{ID: "b", Attributes: map[string]any{"vip": true, "seats": 3}},
			{ID: "c"},
		} {
			if err := account.Upsert(ctx, db, a); err != nil {
				t.Fatal(err)
			}
		}
		// More ids than one IN list holds, with the real ones in the last chunk.
		var ids []string
		for i := range store.MaxInList + 1 {
			ids = append(ids, fmt.Sprintf("missing-%d", i))
		}
		ids = append(ids, "a", "b", "c")
		got, err := account.AttributesOf(ctx, db, account.ObjectAccount, ids)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]any{
			"a": {"seats": 25.0, "tier": "gold"},
			"b": {"vip": true, "seats": 3.0},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AttributesOf = %v, want %v", got, want)
		}
		// The same values as the one-account query gives.
		for _, id := range []string{"a", "b"} {
			one, err := account.Attributes(ctx, db, account.ObjectAccount, id)
			if err != nil || !reflect.DeepEqual(one, got[id]) {
				t.Errorf("Attributes(%s) = %v, %v; AttributesOf gave %v", id, one, err, got[id])
			}
		}
		if _, err := account.AttributesOf(ctx, db, "invoice", []string{"a"}); err == nil {
			t.Error("AttributesOf(invoice): no error for an object without attributes")
		}
	})
}
