package segment_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// BenchmarkStage times the stage over 100,000 accounts in batches of
// 10,000 with four segments: a first run (about 60% of the accounts join
// something) and a steady run where 1% of the accounts change.
//
//	go test ./internal/segment/ -run '^$' -bench Stage -benchtime 1x
func BenchmarkStage(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchStage(b, storetest.SQLite(b)) })
	if storetest.PostgresAvailable() {
		b.Run("postgres", func(b *testing.B) { benchStage(b, storetest.Postgres(b)) })
	}
}

func benchStage(b *testing.B, db *store.DB) {
	const n, batch = 100000, 10000
	ctx := context.Background()
	for first := 0; first < n; first += 300 {
		k := min(300, n-first)
		args := make([]any, 0, k)
		for i := range k {
			args = append(args, fmt.Sprintf("acc%07d", first+i))
		}
		vals := ""
		for i := range k {
			if i > 0 {
				vals += ", "
			}
			vals += fmt.Sprintf("($%d, '', 0, 0)", i+1)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (account_id, name, recorded_at, updated_at) VALUES `+vals, args...); err != nil {
			b.Fatal(err)
		}
	}
	at := time.Now()
	for _, s := range []segment.Segment{
		{ID: "at_risk", Name: "r", Rule: `customer && (health_band == "red" || usage_trend < -0.3)`},
		{ID: "enterprise", Name: "e", Rule: `arr >= 100000`},
		{ID: "onboarding", Name: "o", Rule: `customer && onboarding_status != "done"`},
		{ID: "champions", Name: "c", Rule: `has_nps && last_nps >= 9`},
	} {
		if _, err := segment.Create(ctx, db, s, at); err != nil {
			b.Fatal(err)
		}
	}
	snaps := make([]snapshot.Snapshot, n)
	for i := range snaps {
		snaps[i] = snapshot.Snapshot{AccountID: fmt.Sprintf("acc%07d", i), Customer: i%10 != 0, ARR: float64(i%20) * 10000,
			HealthBand: []string{"green", "yellow", "red"}[i%3], UsageTrend: float64(i%7-3) / 10,
			OnboardingStatus: []string{"done", "done", "in_progress"}[i%3], HasNPS: i%2 == 0, LastNPS: i % 11}
	}
	run := func(name string, at time.Time) {
		st, err := segment.NewStage(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for first := 0; first < n; first += batch {
			err := db.InTx(ctx, func(tx *sql.Tx) error { return st.Apply(ctx, tx, at, snaps[first:first+batch]) })
			if err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("%s: %d accounts in %v (%d joined, %d left)", name, n, time.Since(start).Round(time.Millisecond), st.Joined, st.Left)
	}
	for range b.N {
		run("first run", at)
		for i := 0; i < n; i += 100 {
			snaps[i].HealthBand = "red"
			snaps[i].ARR += 200000
		}
		run("steady run", at.Add(time.Hour))
	}
}
