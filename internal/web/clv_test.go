package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/clv"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCLV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		// 120 accounts: a first order on 2024-01-01..07, then repeat orders
		// at exponential gaps until a per-account dropout, of values around a
		// per-account mean; repeaters counted here.
		rng := rand.New(rand.NewPCG(3, 4))
		start := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
		end := time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC)
		n, repeaters := 0, 0
		for i := range 120 {
			id := fmt.Sprintf("a%03d", i)
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
			day := start.AddDate(0, 0, rng.IntN(7))
			meanGap, drop, spend := 3+rng.Float64()*rng.Float64()*300, rng.Float64()*0.6, 1000+rng.IntN(5000)
			x := 0
			for {
				n++
				if _, err := db.ExecContext(ctx, `INSERT INTO orders (order_id, account_id, ordered_at, amount_minor, currency, recorded_at, updated_at)
					VALUES ($1, $2, $3, $4, 'USD', 0, 0)`, fmt.Sprint(n), id, day.Unix(), spend/2+rng.IntN(spend)); err != nil {
					t.Fatal(err)
				}
				day = day.AddDate(0, 0, 1+int(rng.ExpFloat64()*meanGap))
				if day.After(end) || (x > 0 && rng.Float64() < drop) {
					break
				}
				x++
			}
			if x > 0 {
				repeaters++
			}
		}
		want, err := clv.Fit(ctx, db, clv.Options{CalibrationEnd: end, Unit: clv.Week, Horizon: 13, Discount: 0.005, Margin: 0.8, Top: 5})
		if err != nil {
			t.Fatal(err)
		}
		w := s.do(t, request{target: "/api/v1/clv?calibration_end=2024-09-30&unit=week&horizon=13&discount=0.005&margin=0.8&top=5", bearer: keys.read})
		got := decode[clv.Report](t, w)
		if w.Code != http.StatusOK || got.Customers != 120 || got.Repeaters != repeaters || len(got.Top) != 5 || got.Margin != 0.8 || got.Horizon != 13 {
			t.Fatalf("clv: %d %s (want 120 customers, %d repeaters)", w.Code, w.Body, repeaters)
		}
		for _, p := range [][3]any{{"r", got.R, want.R}, {"b", got.B, want.B}, {"gamma", got.Gamma, want.Gamma}, {"total", got.TotalCLV, want.TotalCLV}, {"top", got.Top[0].CLV, want.Top[0].CLV}} {
			if g, w := p[1].(float64), p[2].(float64); g != w || !(g > 0) {
				t.Errorf("%s = %v, want %v", p[0], g, w)
			}
		}
		if got.Top[0].AccountID != want.Top[0].AccountID {
			t.Errorf("top %s, want %s", got.Top[0].AccountID, want.Top[0].AccountID)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/clv?calibration_end=30.09.2024", bearer: keys.read}), http.StatusBadRequest)
		checkProblem(t, s.do(t, request{target: "/api/v1/clv?calibration_end=2024-09-30&unit=fortnight", bearer: keys.read}), http.StatusBadRequest)
		checkProblem(t, s.do(t, request{target: "/api/v1/clv?calibration_end=2023-01-01", bearer: keys.read}), http.StatusUnprocessableEntity)
		checkProblem(t, s.do(t, request{target: "/api/v1/clv?calibration_end=2024-09-30"}), http.StatusUnauthorized)
	})
}
