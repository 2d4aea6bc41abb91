package lifecycle_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestAllCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO account_stages (account_id, stage_id, entered_at)
			VALUES ('a', 'onboarding', 86400), ('b', 'at_risk', 172800)`); err != nil {
			t.Fatal(err)
		}
		got, err := lifecycle.AllCurrent(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]lifecycle.Current{
			"a": {StageID: "onboarding", EnteredAt: time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)},
			"b": {StageID: "at_risk", EnteredAt: time.Date(1970, 1, 3, 0, 0, 0, 0, time.UTC)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AllCurrent = %+v, want %+v", got, want)
		}
	})
}
