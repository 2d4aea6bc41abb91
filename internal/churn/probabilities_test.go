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

func TestProbabilities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		risks := []churn.Risk{{AccountID: "a", Probability: 0.25}, {AccountID: "b", Probability: 0.75,
			Reasons: []churn.Reason{{Feature: "tickets_30d", Value: 4, Contribution: 0.5}}}}
		if _, err := churn.StoreScores(ctx, db, risks, at, at); err != nil {
			t.Fatal(err)
		}
		got, err := churn.Probabilities(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]float64{"a": 0.25, "b": 0.75}; !reflect.DeepEqual(got, want) {
			t.Errorf("Probabilities = %v, want %v", got, want)
		}
	})
}
