package playbook_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// BenchmarkApply measures the stage on 20,000 accounts in batches of 1,000
// with five playbooks, about 1 % of accounts firing each: the reported
// ns/account, times 1,000,000, is the stage's share of a full recompute.
// The first pass writes the firings; later passes are the steady state
// (conditions unchanged: reads only).
func BenchmarkApply(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchApply(b, storetest.SQLite(b)) })
	if os.Getenv(storetest.EnvPostgres) != "" {
		b.Run("postgres", func(b *testing.B) { benchApply(b, storetest.Postgres(b)) })
	}
}

func benchApply(b *testing.B, db *store.DB) {
	const n, batch = 20000, 1000
	ctx := context.Background()
	owners := map[string]string{}
	snaps := make([]snapshot.Snapshot, n)
	for i := range n {
		id := fmt.Sprintf("acc%07d", i)
		owners[id] = fmt.Sprintf("csm%d@example.com", i%20)
		s := snapshot.Snapshot{AccountID: id, Name: id, Owner: owners[id], HealthScore: 70, HealthBand: "green", HealthBandPrevious: "green",
			DaysToRenewal: 200, ARR: float64(i % 50000), OnboardingStatus: "done"}
		if i%100 == 0 {
			s.HealthScore, s.HealthBand, s.HealthBandPrevious, s.DaysToRenewal, s.UsageTrend = 20, "red", "yellow", 30, -0.5
		}
		snaps[i] = s
	}
	seed(b, db, owners)
	for i, trig := range []playbook.Trigger{{Type: "rule", Condition: "health_score < 40 && arr >= 0"}, {Type: "health_band", Band: "red"},
		{Type: "renewal_in_days", Days: 90}, {Type: "usage_drop", Percent: 30}, {Type: "nps_detractor"}} {
		save(b, db, playbook.Playbook{ID: fmt.Sprintf("p%d", i), Name: "P", HoldoutShare: 0.1, CooldownDays: 30, Trigger: trig,
			Actions: []playbook.Action{callTask, {Type: "webhook", URL: "https://x.example/h", Secret: "s"}}})
	}
	pass := func(at time.Time) {
		st, err := playbook.NewStage(ctx, db, playbook.Options{})
		if err != nil {
			b.Fatal(err)
		}
		// One transaction for the pass: the pipeline commits each batch for
		// every stage together, which is not this stage's cost.
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			for start := 0; start < n; start += batch {
				if err := st.Apply(ctx, tx, at, snaps[start:start+batch]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	first := time.Now()
	pass(t0)
	b.Logf("first pass (writing ~1 %% firings × 5 playbooks): %.0f ns/account", float64(time.Since(first).Nanoseconds())/n)
	b.ResetTimer()
	for i := range b.N {
		pass(t0.Add(time.Duration(i+1) * time.Hour))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/account")
}
