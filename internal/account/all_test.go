package account_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, a := range []account.Account{{ID: "c", Name: "Cee", OwnerEmail: "x@example.com"}, {ID: "a", Name: "Ay"},
			{ID: "b", Name: "Bee", OwnerEmail: "x@example.com"}} {
			if err := account.Upsert(ctx, db, a); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(as []account.Account) (s []string) {
			for _, a := range as {
				s = append(s, a.ID+":"+a.Name+":"+a.OwnerEmail)
			}
			return s
		}
		for _, tt := range []struct {
			owner string
			want  string
		}{{"", "[a:Ay: b:Bee:x@example.com c:Cee:x@example.com]"}, {"x@example.com", "[b:Bee:x@example.com c:Cee:x@example.com]"}, {"nobody@example.com", "[]"}} {
			got, err := account.All(ctx, db, tt.owner)
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(ids(got)); s != tt.want {
				t.Errorf("All(%q) = %s, want %s", tt.owner, s, tt.want)
			}
		}
	})
}
