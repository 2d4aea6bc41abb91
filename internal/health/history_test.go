package health_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestScoresOn reads each account's score of its latest day on or before a day.
func TestScoresOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		// The rows the health stage writes, one per account and day.
		for _, r := range []struct {
			id    string
			day   int64
			score float64
		}{{"a", 10, 50}, {"a", 12, 62.5}, {"a", 15, 70}, {"b", 9, 30}, {"c", 13, 90}} {
			if _, err := db.ExecContext(ctx, `INSERT INTO health_scores (account_id, day, model_id, score, band, computed_score)
				VALUES ($1, $2, 'm', $3, 'green', $3)`, r.id, r.day, r.score); err != nil {
				t.Fatal(err)
			}
		}
		got, err := health.ScoresOn(ctx, db, 12)
		if err != nil {
			t.Fatal(err)
		}
		// a: day 12's 62.5 (not day 15's); b: day 9's; c is scored only later.
		if len(got) != 2 || got["a"] != 62.5 || got["b"] != 30 {
			t.Errorf("got %v, want map[a:62.5 b:30]", got)
		}
	})
}
