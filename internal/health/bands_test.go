package health_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestAllBands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO health_current (account_id, model_id, score, band, day, computed_score, updated_at)
			VALUES ('a', 'm', 62.5, 'yellow', 1, 62.5, 1), ('b', 'm', 20, 'red', 1, 80, 1)`); err != nil {
			t.Fatal(err)
		}
		got, err := health.AllBands(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		// b's effective score (an override) is what the list shows, not the computed 80.
		want := map[string]health.Banded{"a": {Score: 62.5, Band: "yellow"}, "b": {Score: 20, Band: "red"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AllBands = %+v, want %+v", got, want)
		}
	})
}
