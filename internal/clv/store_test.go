package clv_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/clv"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestFromOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		day := func(s string, hour int) int64 {
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				t.Fatal(err)
			}
			return d.Unix() + int64(hour)*3600
		}
		for _, a := range []string{"A", "B", "C"} {
			if _, err := db.ExecContext(ctx, `INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES ($1, $1, 0, 0)`, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := billing.SetFXRate(ctx, db, "EUR", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 1.5); err != nil {
			t.Fatal(err)
		}
		orders := []struct {
			id, acct string
			at       int64
			minor    int64
			cur      string
		}{
			{"1", "A", day("2024-01-01", 9), 5000, "USD"},
			{"2", "A", day("2024-01-15", 10), 1000, "USD"},
			{"3", "A", day("2024-01-15", 18), 2000, "EUR"}, // same day as 2: one purchase of 10 + 30
			{"4", "A", day("2024-01-29", 23), 2000, "USD"},
			{"5", "A", day("2024-02-01", 0), 9900, "USD"}, // after the calibration end
			{"6", "B", day("2024-01-08", 12), 700, "USD"},
			{"7", "C", day("2024-02-05", 12), 700, "USD"}, // first purchase after the end: not a customer yet
		}
		for _, o := range orders {
			if _, err := db.ExecContext(ctx, `INSERT INTO orders (order_id, account_id, ordered_at, amount_minor, currency, recorded_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, 0, 0)`, o.id, o.acct, o.at, o.minor, o.cur); err != nil {
				t.Fatal(err)
			}
		}
		end := time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)
		cs, err := clv.FromOrders(ctx, db, end, clv.Week)
		if err != nil {
			t.Fatal(err)
		}
		// A: days 0, 14, 28 of 30; B: day 7 of 30 → 23 days old.
		want := []clv.Customer{{ID: "A", X: 2, Tx: 4, T: 30.0 / 7, Zbar: (40 + 20) / 2.0}, {ID: "B", T: 23.0 / 7}}
		if len(cs) != len(want) {
			t.Fatalf("got %+v", cs)
		}
		for i, w := range want {
			c := cs[i]
			if c.ID != w.ID || c.X != w.X || math.Abs(c.Tx-w.Tx) > 1e-12 || math.Abs(c.T-w.T) > 1e-12 || math.Abs(c.Zbar-w.Zbar) > 1e-9 {
				t.Errorf("customer %d = %+v, want %+v", i, c, w)
			}
		}
		if _, err := clv.FromOrders(ctx, db, time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC), clv.Day); !errors.Is(err, clv.ErrNoOrders) {
			t.Errorf("before any order: %v", err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO orders (order_id, account_id, ordered_at, amount_minor, currency, recorded_at, updated_at)
			VALUES ('8', 'B', $1, 100, 'JPY', 0, 0)`, day("2024-01-10", 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := clv.FromOrders(ctx, db, end, clv.Week); !errors.Is(err, billing.ErrNoRate) {
			t.Errorf("order in a currency without a rate: %v", err)
		}
	})
}
