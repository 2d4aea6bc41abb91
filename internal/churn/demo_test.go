package churn

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestDemoPlantedEffects trains on the demo business (seed 1, scale 1:
// about 5,000 customers, 3,067 paying at the as-of date, 250 of them
// churning within 90 days) and recovers the three effects
// internal/demo/truth.go plants, each with the right sign and a 95 %
// interval that excludes zero:
//
//   - not adopting reports triples the churn hazard: used_30d.reports
//     (reports used in the 30 days before the as-of date) is protective;
//   - completing onboarding halves it: first_28d.onboarded (setup within
//     onboarding_days and logins in ≥ 3 of the first four weeks) is
//     protective;
//   - using under 30 % of the seats doubles it: low_seat_utilization raises
//     risk.
//
// The CSM sentiment is left out: the demo draws it from the same traits
// (and from warnings before a churn), a mediator that, adjusted for,
// hides the traits' own effects. About 12 s on SQLite (demo 9 s, training
// 2 s), most of it generating the demo.
func TestDemoPlantedEffects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
		start := time.Now()
		if _, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 1, Now: now}); err != nil {
			t.Fatal(err)
		}
		generated := time.Since(start)
		rep, err := Train(ctx, db, Options{Now: now, Exclude: []string{"csm_sentiment_score"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("demo %.1f s, training %.1f s: %d accounts, %d churned, AUC %.3f, Brier %.4f",
			generated.Seconds(), (time.Since(start) - generated).Seconds(), rep.Accounts, rep.Churned, rep.AUC, rep.Brier)
		if rep.AsOf != "2026-03-17" || rep.Churned < 200 || rep.AUC < 0.65 {
			t.Errorf("as of %s: %d churned, AUC %.3f", rep.AsOf, rep.Churned, rep.AUC)
		}
		by := map[string]Driver{}
		for _, d := range rep.Drivers {
			by[d.Feature] = d
		}
		for _, f := range []string{"days_to_renewal", "health_score", "churn_risk", "arr", "csm_sentiment_score"} {
			if _, ok := by[f]; ok {
				t.Errorf("%s is a feature", f)
			}
		}
		for _, c := range []struct {
			feature string
			sign    float64
			planted float64 // the hazard multiplier of having the feature (1)
		}{
			{"used_30d.reports", -1, 1.0 / 3},
			{"first_28d.onboarded", -1, 0.5},
			{"low_seat_utilization", +1, 2},
		} {
			d, ok := by[c.feature]
			if !ok {
				t.Errorf("%s is not a feature", c.feature)
				continue
			}
			// Per unit (0 → 1) rather than per standard deviation.
			j := slices.Index(rep.Model.Features, c.feature)
			s := rep.Model.Scale[j]
			t.Logf("%-22s %+.3f [%+.3f, %+.3f] per SD; odds ratio 0→1 %.2f [%.2f, %.2f], planted hazard ×%.2f", c.feature,
				d.Coefficient, d.CILow, d.CIHigh, math.Exp(d.Coefficient/s), math.Exp(d.CILow/s), math.Exp(d.CIHigh/s), c.planted)
			if c.sign*d.CILow <= 0 || c.sign*d.CIHigh <= 0 {
				t.Errorf("%s %+.3f [%+.3f, %+.3f]: want an interval on the %+.0f side of zero", c.feature, d.Coefficient, d.CILow, d.CIHigh, c.sign)
			}
		}
	})
}
