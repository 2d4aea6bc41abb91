package snapshot_test

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestStoredChurnRisk: churn_risk is the account's probability in the
// latest stored scoring run at or before the snapshot's instant, never a
// later run's, and -1 when that run left the account out; the recompute's
// reader (SkipStored) still reads it.
func TestStoredChurnRisk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		d := func(m time.Month, dd int) time.Time { return day(2025, m, dd) }
		// Run 1 (March 1): a 0.2, b 0.7. Run 2 (March 10): a 0.9, b not
		// scored (no longer paying). Run 3 (March 20, noon): a 0.4, b 0.1.
		for _, r := range []struct {
			at time.Time
			id string
			p  float64
		}{
			{d(3, 1), "a", 0.2}, {d(3, 1), "b", 0.7}, {d(3, 10), "a", 0.9},
			{d(3, 20).Add(12 * time.Hour), "a", 0.4}, {d(3, 20).Add(12 * time.Hour), "b", 0.1},
		} {
			if _, err := db.ExecContext(ctx, `INSERT INTO churn_score_history (scored_at, account_id, probability, reasons, as_of)
				VALUES ($1, $2, $3, '[]', $4)`, r.at.Unix(), r.id, r.p, r.at.AddDate(0, 0, -90).Unix()); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			at   time.Time
			a, b float64
		}{
			{d(2, 28), -1, -1},
			{d(3, 1), 0.2, 0.7}, // a run is seen from its own second on
			{d(3, 9), 0.2, 0.7},
			{d(3, 10).Add(time.Hour), 0.9, -1},
			{d(3, 20), 0.9, -1}, // the same day's later run is not seen yet
			{d(3, 21), 0.4, 0.1},
		} {
			all, err := snapshot.All(ctx, db, c.at)
			if err != nil {
				t.Fatal(err)
			}
			if all[0].ChurnRisk != c.a || all[1].ChurnRisk != c.b {
				t.Errorf("at %s: churn_risk a %v, b %v; want %v, %v", c.at.Format(time.DateTime), all[0].ChurnRisk, all[1].ChurnRisk, c.a, c.b)
			}
			r, err := snapshot.NewReader(ctx, db, c.at)
			if err != nil {
				t.Fatal(err)
			}
			r.SkipStored = true
			got, err := r.IDs(ctx, db, []string{"a"})
			if err != nil {
				t.Fatal(err)
			}
			if got[0].ChurnRisk != c.a {
				t.Errorf("at %s with SkipStored: churn_risk a %v, want %v", c.at.Format(time.DateTime), got[0].ChurnRisk, c.a)
			}
		}
	})
}
