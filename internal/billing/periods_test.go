package billing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestPeriodsCRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a1", "a2"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
		end := day("2024-03-01")
		for _, p := range []billing.Period{
			{SubscriptionID: "s1", AccountID: "a1", Start: day("2024-01-01"), End: &end, MRRMinor: 1000, Currency: "USD"},
			{SubscriptionID: "s1", AccountID: "a1", Start: day("2024-03-01"), MRRMinor: 2000, Currency: "USD"},
			{SubscriptionID: "s2", AccountID: "a2", Start: day("2024-02-01"), MRRMinor: 500, Currency: "JPY"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		p, err := billing.GetPeriod(ctx, db, "s1", day("2024-03-01"))
		if err != nil || p.MRRMinor != 2000 || p.End != nil {
			t.Fatalf("GetPeriod = %+v, %v", p, err)
		}
		if _, err := billing.GetPeriod(ctx, db, "s1", day("2024-02-01")); !errors.Is(err, billing.ErrNotFound) {
			t.Errorf("GetPeriod of no period: %v", err)
		}

		keys := func(ps []billing.Period) []string {
			var out []string
			for _, p := range ps {
				out = append(out, p.SubscriptionID+"@"+p.Start.Format("01-02"))
			}
			return out
		}
		active := day("2024-02-15")
		for _, tt := range []struct {
			name string
			f    billing.PeriodFilter
			want string
		}{
			{"by start", billing.PeriodFilter{}, "[s1@01-01 s2@02-01 s1@03-01]"},
			{"by start, newest first", billing.PeriodFilter{Desc: true}, "[s1@03-01 s2@02-01 s1@01-01]"},
			{"by subscription", billing.PeriodFilter{Sort: "subscription_id"}, "[s1@01-01 s1@03-01 s2@02-01]"},
			{"account", billing.PeriodFilter{AccountID: "a1"}, "[s1@01-01 s1@03-01]"},
			{"active", billing.PeriodFilter{ActiveAt: &active}, "[s1@01-01 s2@02-01]"},
			{"after a key", billing.PeriodFilter{AfterSubscription: "s2", AfterStart: day("2024-02-01")}, "[s1@03-01]"},
			{"after a key, by subscription", billing.PeriodFilter{Sort: "subscription_id", AfterSubscription: "s1", AfterStart: day("2024-03-01")}, "[s2@02-01]"},
			{"limit", billing.PeriodFilter{Limit: 1}, "[s1@01-01]"},
		} {
			got, err := billing.SearchPeriods(ctx, db, tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if s := fmtKeys(keys(got)); s != tt.want {
				t.Errorf("%s = %s, want %s", tt.name, s, tt.want)
			}
		}
		if _, err := billing.SearchPeriods(ctx, db, billing.PeriodFilter{Sort: "mrr"}); err == nil {
			t.Error("unknown sort accepted")
		}

		if err := billing.DeletePeriod(ctx, db, "s1", day("2024-01-01")); err != nil {
			t.Fatal(err)
		}
		if err := billing.DeletePeriod(ctx, db, "s1", day("2024-01-01")); !errors.Is(err, billing.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
	})
}

func fmtKeys(ks []string) string {
	s := "["
	for i, k := range ks {
		if i > 0 {
			s += " "
		}
		s += k
	}
	return s + "]"
}
