package churn_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCurrentProbabilities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := churn.CurrentProbabilities(ctx, db); err != nil || len(got) != 0 {
			t.Fatalf("before scoring = %v, %v", got, err)
		}
		at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		if _, err := churn.StoreScores(ctx, db, []churn.Risk{{AccountID: "a", Probability: 0.8}, {AccountID: "b", Probability: 0.125}}, at, at); err != nil {
			t.Fatal(err)
		}
		got, err := churn.CurrentProbabilities(ctx, db)
		if err != nil || !reflect.DeepEqual(got, map[string]float64{"a": 0.8, "b": 0.125}) {
			t.Errorf("CurrentProbabilities = %v, %v", got, err)
		}
	})
}
