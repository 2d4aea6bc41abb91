package demo

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/store"
)

func ptr[T any](v T) *T { return &v }

// DefaultHealthModel is the health model the demo installs: measures that
// reflect the planted churn drivers as the data shows them at any date —
// the CSM's read, the segment (smaller customers churn more), onboarding, reports adoption and seat use (only where
// usage is covered), tenure (risky customers leave early), payment failures
// and NPS.
var DefaultHealthModel = health.Model{
	ID: "default", Name: "Default health",
	Description: "CSM sentiment, onboarding, reports adoption, seat utilisation, tenure, payments and NPS.",
	Bands:       health.Bands{RedBelow: ptr(40.0), YellowBelow: ptr(70.0)},
	Measures: []health.Measure{
		{Name: "CSM sentiment", Field: "csm_sentiment_score", Linear: &health.Linear{From: 0, To: 100}, Weight: 6, When: `csm_sentiment != ""`},
		{Name: "Onboarding", Field: `setup_done ? 100 : (onboarding_status == "overdue" ? 0 : 50)`,
			Thresholds: []health.Threshold{{Min: 0, Score: 0}, {Min: 50, Score: 50}, {Min: 100, Score: 100}}, Weight: 2},
		{Name: "Reports adoption", Field: `usage_30d["reports"] ?? 0`,
			Thresholds: []health.Threshold{{Min: 0, Score: 0}, {Min: 1, Score: 60}, {Min: 4, Score: 100}}, Weight: 3, When: "events_30d > 0"},
		{Name: "Seat utilisation", Field: "seat_utilization", Linear: &health.Linear{From: 0.1, To: 0.5}, Weight: 2, When: "events_30d > 0 && seats > 0"},
		{Name: "Tenure", Field: "tenure_days",
			Thresholds: []health.Threshold{{Min: 0, Score: 20}, {Min: 90, Score: 40}, {Min: 365, Score: 70}, {Min: 730, Score: 100}}, Weight: 2},
		{Name: "Segment", Field: `attr["segment"] == "enterprise" ? 100 : (attr["segment"] == "mid-market" ? 60 : 0)`,
			Thresholds: []health.Threshold{{Min: 0, Score: 0}, {Min: 60, Score: 60}, {Min: 100, Score: 100}}, Weight: 3},
		{Name: "Payment failures", Field: "payment_failures_90d",
			Thresholds: []health.Threshold{{Min: 0, Score: 100}, {Min: 1, Score: 40}, {Min: 2, Score: 0}}, Weight: 1},
		{Name: "NPS", Field: "last_nps", Linear: &health.Linear{From: 0, To: 10}, Weight: 1, When: "has_nps"},
	},
}

// writeHealth adds the CSM sentiment records and installs the default model.
func (w *world) writeHealth(ctx context.Context, db *store.DB) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := w.writeSentiments(ctx, tx); err != nil {
			return err
		}
		if _, err := health.Import(ctx, tx, health.File{Models: []health.Model{DefaultHealthModel}}); err != nil {
			return fmt.Errorf("generate demo: %w", err)
		}
		return nil
	})
}
