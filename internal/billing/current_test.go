package billing_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCurrentMRR(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
		d := func(m time.Month, day int) time.Time { return time.Date(2025, m, day, 0, 0, 0, 0, time.UTC) }
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		ended, endsAt := d(6, 1), at // end is exclusive: a period ending at `at` is over
		for _, p := range []billing.Period{
			{SubscriptionID: "a1", AccountID: "a", Start: d(1, 1), MRRMinor: 4990, Currency: "USD"},
			{SubscriptionID: "a2", AccountID: "a", Start: d(1, 1), MRRMinor: 1010, Currency: "USD"},
			{SubscriptionID: "a3", AccountID: "a", Start: d(3, 1), MRRMinor: 5000, Currency: "JPY"},
			{SubscriptionID: "a4", AccountID: "a", Start: d(1, 1), End: &ended, MRRMinor: 99999, Currency: "USD"},
			{SubscriptionID: "a5", AccountID: "a", Start: d(7, 1), MRRMinor: 99999, Currency: "USD"},
			{SubscriptionID: "b1", AccountID: "b", Start: at, MRRMinor: 700, Currency: "EUR"}, // starts exactly now: counts
			{SubscriptionID: "c1", AccountID: "c", Start: d(1, 1), End: &endsAt, MRRMinor: 300, Currency: "USD"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}

		// More ids than one IN list holds, with the real ones in the last chunk.
		var ids []string
		for i := range store.MaxInList + 5 {
			ids = append(ids, fmt.Sprintf("missing-%d", i))
		}
		ids = append(ids, "a", "b", "c")
		got, err := billing.CurrentMRR(ctx, db, ids, at)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]int64{"a": {"USD": 6000, "JPY": 5000}, "b": {"EUR": 700}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("CurrentMRR = %v, want %v", got, want)
		}

		// Every account at once gives the same amounts (c's period ended at `at`).
		if all, err := billing.AllCurrentMRR(ctx, db, at); err != nil || !reflect.DeepEqual(all, want) {
			t.Errorf("AllCurrentMRR = %v, %v; want %v", all, err, want)
		}
		if all, err := billing.AllCurrentMRR(ctx, db, d(7, 2)); err != nil ||
			!reflect.DeepEqual(all, map[string]map[string]int64{"a": {"USD": 6000 + 99999, "JPY": 5000}, "b": {"EUR": 700}}) {
			t.Errorf("AllCurrentMRR on 2 July = %v, %v", all, err)
		}

		if got, err := billing.CurrentMRR(ctx, db, nil, at); err != nil || len(got) != 0 {
			t.Errorf("CurrentMRR(no ids) = %v, %v; want empty", got, err)
		}

		if err := billing.SetFXRate(ctx, db, "JPY", d(1, 1), 0.0067); err != nil {
			t.Fatal(err)
		}
		conv, err := billing.LoadConverter(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		// 60.00 USD + 5000 JPY × 0.0067 = 93.50 USD, as Converter.MRR computes it from the periods.
		total, err := conv.Total(got["a"], at)
		periods, _ := billing.Periods(ctx, db, "a")
		viaPeriods, err2 := conv.MRR(periods, at)
		if err != nil || err2 != nil || diff(total, 93.50) > 1e-9 || diff(total, viaPeriods) > 1e-9 {
			t.Errorf("Total = %v, %v; MRR from periods = %v, %v; want 93.50", total, err, viaPeriods, err2)
		}
		if v, err := conv.Total(nil, at); v != 0 || err != nil {
			t.Errorf("Total(nil) = %v, %v; want 0", v, err)
		}
		if _, err := conv.Total(got["b"], at); !errors.Is(err, billing.ErrNoRate) {
			t.Errorf("Total in EUR without a rate: err = %v, want ErrNoRate", err)
		}
	})
}

func diff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}
