package program_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestDemoScratch(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	t0 := time.Now()
	truth, err := demo.Generate(ctx, db, demo.Config{Seed: 1, Scale: 0.3, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generate %v", time.Since(t0))
	b, _ := json.MarshalIndent(truth.Effects.Seminar.Treated, "", " ")
	t.Logf("seminar truth %s naive %v matched %v", b, *truth.Effects.Seminar.NaiveLift, *truth.Effects.Seminar.MatchedLift)
	t.Logf("webinar truth naive %v matched %v n=%d", *truth.Effects.Webinar.NaiveLift, *truth.Effects.Webinar.MatchedLift, len(truth.Effects.Webinar.Participants))
	for _, id := range []string{demo.SeminarProgram, demo.WebinarProgram} {
		t0 = time.Now()
		r, err := program.Compute(ctx, db, id, now)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v participants %d notcust %d control %+v", id, time.Since(t0), r.Participants, r.NotCustomers, r.Control)
		for _, m := range r.Measures {
			b, _ := json.Marshal(m.DiD)
			c, _ := json.Marshal(m.Risk)
			t.Logf("  %s: %s %s %s", m.Label, m.Verdict.Text, b, c)
		}
	}
	t0 = time.Now()
	v, err := program.Correlations(ctx, db, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("correlations %v customers %d", time.Since(t0), v.Customers)
	for _, f := range v.Features {
		b, _ := json.Marshal(f)
		t.Logf("  %s", b)
	}
}
