package health_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// BenchmarkStage scores and writes 100,000 synthetic snapshots with the demo's
// default model on SQLite, in batches of 5,000 as the pipeline gives them;
// each iteration is a new day, so every account gets a history row and its
// current row rewritten.
func BenchmarkStage(b *testing.B) {
	const n, batch = 100_000, 5000
	ctx := context.Background()
	db := storetest.SQLite(b)
	for first := 0; first < n; first += 500 {
		var sb strings.Builder
		var args []any
		for i := first; i < min(first+500, n); i++ {
			if len(args) > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + store.Placeholders(len(args)+1, 3) + ")")
			args = append(args, fmt.Sprintf("acc%06d", i), int64(0), int64(0))
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (account_id, recorded_at, updated_at) VALUES `+sb.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := health.Import(ctx, db, health.File{Models: []health.Model{demo.DefaultHealthModel}}); err != nil {
		b.Fatal(err)
	}
	snaps := make([]snapshot.Snapshot, n)
	sentiments := []string{"green", "yellow", "red", ""}
	for i := range snaps {
		s := &snaps[i]
		s.AccountID = fmt.Sprintf("acc%06d", i)
		s.CSMSentiment = sentiments[i%4]
		s.CSMSentimentScore = []float64{100, 50, 0, -1}[i%4]
		s.SetupDone = i%3 != 0
		s.OnboardingStatus = "in_progress"
		s.Usage30d = map[string]float64{"reports": float64(i % 7)}
		s.Events30d = float64(i % 50)
		s.Seats = 10
		s.SeatUtilization = float64(i%11) / 10
		s.TenureDays = i % 1000
		s.Attributes = map[string]any{"segment": []string{"smb", "mid-market", "enterprise"}[i%3]}
		s.HasNPS, s.LastNPS = i%5 == 0, i%11
	}
	day0 := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		at := day0.AddDate(0, 0, i)
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			st, err := health.NewStage(ctx, tx)
			if err != nil {
				return err
			}
			for first := 0; first < n; first += batch {
				if err := st.Apply(ctx, tx, at, snaps[first:first+batch]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}
