package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCurrentTerms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
		d := func(m time.Month, day int) *time.Time {
			v := time.Date(2025, m, day, 0, 0, 0, 0, time.UTC)
			return &v
		}
		for _, id := range []string{"a", "b", "c", "d"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if err := billing.SetFXRate(ctx, db, "JPY", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 0.01); err != nil {
			t.Fatal(err)
		}
		for _, p := range []billing.Period{
			// a: the JPY period is worth 60 USD, more than the 50 USD one.
			{SubscriptionID: "a1", AccountID: "a", Start: *d(1, 1), End: d(9, 1), MRRMinor: 5000, Currency: "USD", Plan: "basic"},
			{SubscriptionID: "a2", AccountID: "a", Start: *d(1, 1), End: d(8, 1), MRRMinor: 6000, Currency: "JPY", Plan: "pro"},
			// b: its current period ends July 1 but a next one follows: no renewal due.
			{SubscriptionID: "b1", AccountID: "b", Start: *d(1, 1), End: d(7, 1), MRRMinor: 100, Currency: "USD", Plan: "team"},
			{SubscriptionID: "b1", AccountID: "b", Start: *d(7, 1), End: d(12, 1), MRRMinor: 100, Currency: "USD", Plan: "team"},
			// c: open-ended, no renewal date.
			{SubscriptionID: "c1", AccountID: "c", Start: *d(1, 1), MRRMinor: 100, Currency: "USD", Plan: "free"},
			// d: over before at.
			{SubscriptionID: "d1", AccountID: "d", Start: *d(1, 1), End: d(6, 1), MRRMinor: 100, Currency: "USD", Plan: "old"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		conv, err := billing.LoadConverter(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		got, err := billing.CurrentTerms(ctx, db, conv, at)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			plan    string
			renewal *time.Time
		}{"a": {"pro", d(8, 1)}, "b": {"team", nil}, "c": {"free", nil}}
		if len(got) != len(want) {
			t.Errorf("CurrentTerms has %d accounts (%v), want %d", len(got), got, len(want))
		}
		for id, w := range want {
			g := got[id]
			if g.Plan != w.plan || (g.Renewal == nil) != (w.renewal == nil) || (g.Renewal != nil && !g.Renewal.Equal(*w.renewal)) {
				t.Errorf("%s: plan %q renewal %v, want %q %v", id, g.Plan, g.Renewal, w.plan, w.renewal)
			}
		}
	})
}
