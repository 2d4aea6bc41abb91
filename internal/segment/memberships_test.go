package segment_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestMemberships(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO segments (segment_id, name, rule, created_at, updated_at)
			VALUES ('zeta', 'Z', 'true', 0, 0), ('alpha', 'A', 'true', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO segment_members (segment_id, account_id, since)
			VALUES ('zeta', 'a', 1), ('alpha', 'a', 1), ('zeta', 'b', 1)`); err != nil {
			t.Fatal(err)
		}
		got, err := segment.Memberships(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"a": {"alpha", "zeta"}, "b": {"zeta"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Memberships = %v, want %v", got, want)
		}
	})
}
