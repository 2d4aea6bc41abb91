package snapshot_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestStoredResults: health and segments in a snapshot are the stored
// ones as of the snapshot's instant, never later ones.
func TestStoredResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"a", "b"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
		d := func(m time.Month, dd int) time.Time { return day(2025, m, dd) }
		// a: green on March 1, yellow March 10, red March 20.
		for _, h := range []struct {
			on    time.Time
			score float64
			band  string
		}{{d(3, 1), 80, "green"}, {d(3, 10), 55, "yellow"}, {d(3, 20), 20, "red"}} {
			exec(`INSERT INTO health_scores (account_id, day, model_id, score, band, computed_score) VALUES ('a', $1, 'm', $2, $3, $2)`,
				store.Day(h.on.Unix()), h.score, h.band)
		}
		exec(`INSERT INTO health_current (account_id, model_id, score, band, previous_band, day, computed_score, updated_at)
			VALUES ('a', 'm', 20, 'red', 'yellow', $1, 20, 1)`, store.Day(d(3, 20).Unix()))
		// Segment s: a joined March 5, left March 15, joined again March 25
		// (a member now); b joined March 12 (a member now); t: b joined March
		// 2 and left March 8.
		exec(`INSERT INTO segments (segment_id, name, rule, created_at, updated_at) VALUES ('s', 's', 'true', 1, 1), ('t', 't', 'true', 1, 1)`)
		for _, e := range []struct {
			segment, account string
			at               time.Time
			event            string
		}{
			{"s", "a", d(3, 5), "joined"}, {"s", "a", d(3, 15), "left"}, {"s", "a", d(3, 25), "joined"},
			{"s", "b", d(3, 12), "joined"}, {"t", "b", d(3, 2), "joined"}, {"t", "b", d(3, 8), "left"},
		} {
			exec(`INSERT INTO segment_history (segment_id, account_id, at, event) VALUES ($1, $2, $3, $4)`, e.segment, e.account, e.at.Unix(), e.event)
		}
		exec(`INSERT INTO segment_members (segment_id, account_id, since) VALUES ('s', 'a', $1), ('s', 'b', $2)`, d(3, 25).Unix(), d(3, 12).Unix())

		type want struct {
			score                float64
			band, previous       string
			segmentsA, segmentsB []string
		}
		for _, c := range []struct {
			at   time.Time
			want want
		}{
			// The previous band is the one in force the day before (the
			// history keeps the days a score changed): it differs from the
			// band only on the day of a change, as the recompute saw it.
			{d(2, 1), want{-1, "", "", []string{}, []string{}}},
			{d(3, 1).Add(time.Hour), want{80, "green", "", []string{}, []string{}}},
			{d(3, 3), want{80, "green", "green", []string{}, []string{"t"}}},
			{d(3, 10).Add(time.Hour), want{55, "yellow", "green", []string{"s"}, []string{}}},
			{d(3, 12).Add(time.Hour), want{55, "yellow", "yellow", []string{"s"}, []string{"s"}}},
			{d(3, 16), want{55, "yellow", "yellow", []string{}, []string{"s"}}},
			{d(3, 20).Add(time.Hour), want{20, "red", "yellow", []string{}, []string{"s"}}},
			{d(4, 1), want{20, "red", "red", []string{"s"}, []string{"s"}}},
		} {
			all, err := snapshot.All(ctx, db, c.at)
			if err != nil {
				t.Fatal(err)
			}
			a, b := all[0], all[1]
			got := want{a.HealthScore, a.HealthBand, a.HealthBandPrevious, a.Segments, b.Segments}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("at %s: got %+v, want %+v", c.at.Format(time.DateTime), got, c.want)
			}
			if b.HealthScore != -1 || b.HealthBand != "" {
				t.Errorf("at %s: b has health %v %q", c.at.Format(time.DateTime), b.HealthScore, b.HealthBand)
			}
		}
	})
}
