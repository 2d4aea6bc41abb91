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

func TestCurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO health_current (account_id, model_id, score, band, day, computed_score, contributions, updated_at)
			VALUES ('a', 'm', 62.5, 'yellow', 1, 62.5, '[{"measure":"usage","applied":true,"value":3,"score":62.5,"weight":1,"share":1,"points":62.5}]', 1)`); err != nil {
			t.Fatal(err)
		}
		got, err := health.Current(ctx, db, []string{"a", "b", "ghost"})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]health.CurrentHealth{"a": {Score: 62.5, Band: "yellow", Contributions: []health.Contribution{
			{Measure: "usage", Applied: true, Value: 3, Score: 62.5, Weight: 1, Share: 1, Points: 62.5}}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Current = %+v, want %+v", got, want)
		}
	})
}
