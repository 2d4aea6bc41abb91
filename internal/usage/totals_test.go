package usage_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestTotals sums one event's rollups per account over [from, to).
func TestTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for id, counts := range map[string][]usage.DailyCount{
			"a": {{Day: 100, Event: "reports", Count: 2}, {Day: 104, Event: "reports", Count: 3}, {Day: 105, Event: "reports", Count: 7}, {Day: 101, Event: "login", Count: 9}},
			"b": {{Day: 99, Event: "reports", Count: 4}, {Day: 102, Event: "login", Count: 1}},
			"c": {{Day: 103, Event: "reports", Count: 1}},
		} {
			if err := usage.AddRollups(ctx, db, id, counts, nil); err != nil {
				t.Fatal(err)
			}
		}
		got, err := usage.Totals(ctx, db, "reports", 100, 105)
		if err != nil {
			t.Fatal(err)
		}
		// a: days 100 and 104 (2 + 3; day 105 is outside); b: only day 99; c: 1.
		if len(got) != 2 || got["a"] != 5 || got["c"] != 1 {
			t.Errorf("got %v, want map[a:5 c:1]", got)
		}
	})
}
