package program_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestDemoPrograms runs the demo's two programs: the reports seminar, whose
// attendance makes seminarLift (0.20) more participants adopt reports, and
// the reports webinar, planted with no effect (internal/demo/world.go,
// effects 4 and 5). The seminar's adoption result must hold the planted
// lift inside its interval and lie above 0; the webinar's must say there
// is no measurable effect, its interval holding 0. The correlation view
// must find the planted churn effect of reports (non-adopters churn at 3×
// the hazard): reports first, adopters churning less.
func TestDemoPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a demo database; runs without -short, as .ci/run does")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		truth, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.3, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			effect demo.ProgramEffect
			code   string
		}{
			{truth.Effects.Seminar, program.VerdictIncrease},
			{truth.Effects.Webinar, program.VerdictNoEffect},
		} {
			pe := tc.effect
			r, err := program.Compute(ctx, db, pe.Program, now)
			if err != nil {
				t.Fatal(err)
			}
			parts, err := program.Participants(ctx, db, pe.Program)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range parts {
				ids = append(ids, p.AccountID)
			}
			if !slices.Equal(ids, pe.Participants) {
				t.Fatalf("%s: participants %d, the truth lists %d", pe.Program, len(ids), len(pe.Participants))
			}
			if r.Program.Start.Format(time.DateOnly) != pe.Date || r.Participants != len(pe.Participants) || r.Control.Kind != program.ControlMatched ||
				r.Control.Unmatched != 0 {
				t.Fatalf("%s: start %s (truth %s), %d participants analysed of %d, control %+v", pe.Program, r.Program.Start, pe.Date,
					r.Participants, len(pe.Participants), r.Control)
			}
			ad := r.Measures[0]
			if ad.Measure.Kind != program.MeasureAdoption || ad.Measure.Feature != pe.Feature || ad.DiD == nil {
				t.Fatalf("%s: first measure %+v", pe.Program, ad)
			}
			t.Logf("%s: %s (planted %+.2f; truth: naive %+.3f, within segments %+.3f); %d participants, %d controls",
				pe.Program, ad.Verdict.Text, pe.PlantedLift, *pe.NaiveLift, *pe.MatchedLift, r.Participants, r.Control.Accounts)
			if ad.Verdict.Code != tc.code || ad.DiD.Low > pe.PlantedLift || ad.DiD.High < pe.PlantedLift {
				t.Errorf("%s: %s (code %s), want %s with the planted %+.2f inside the interval", pe.Program, ad.Verdict.Text,
					ad.Verdict.Code, tc.code, pe.PlantedLift)
			}
		}

		v, err := program.Correlations(ctx, db, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Features) != 3 || v.Customers == 0 {
			t.Fatalf("correlations: %d features, %d customers", len(v.Features), v.Customers)
		}
		top := v.Features[0]
		t.Logf("correlations: %s; churn ratio %.2f [%.2f, %.2f]", top.Verdict.Text, top.ChurnRatio.Value, top.ChurnRatio.Low, top.ChurnRatio.High)
		if top.Feature != demo.EventReports || top.Verdict.Code != program.VerdictDecrease || !top.ChurnRatio.Defined || top.ChurnRatio.High >= 1 {
			t.Errorf("top feature %+v", top)
		}
		if top.Adopters+top.NonAdopters != v.Customers {
			t.Errorf("adopters %d + non-adopters %d != customers %d", top.Adopters, top.NonAdopters, v.Customers)
		}
	})
}
