package snapshot_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestKeyFeatures: the setting when there is one, else every event in the
// rollups but login and setup.
func TestKeyFeatures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := usage.AddRollups(ctx, db, "a", []usage.DailyCount{{Day: 1, Event: "login", Count: 1},
			{Day: 1, Event: "setup_completed", Count: 1}, {Day: 1, Event: "export", Count: 1}, {Day: 2, Event: "alerts", Count: 1}}, nil); err != nil {
			t.Fatal(err)
		}
		keys := func() []string {
			r, err := snapshot.NewReader(ctx, db, time.Unix(3*86400, 0))
			if err != nil {
				t.Fatal(err)
			}
			return r.KeyFeatures()
		}
		if got := keys(); !slices.Equal(got, []string{"alerts", "export"}) {
			t.Errorf("default: %v", got)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('key_features', 'reports, dashboards')`); err != nil {
			t.Fatal(err)
		}
		if got := keys(); !slices.Equal(got, []string{"reports", "dashboards"}) {
			t.Errorf("setting: %v", got)
		}
	})
}

// TestShareDefaults: Readers made in a ShareDefaults context read the
// default key features once (a recompute's Readers); elsewhere each reads
// them anew.
func TestShareDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		add := func(event string) {
			t.Helper()
			if err := usage.AddRollups(ctx, db, "a", []usage.DailyCount{{Day: 1, Event: event, Count: 1}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		keys := func(ctx context.Context) []string {
			t.Helper()
			r, err := snapshot.NewReader(ctx, db, time.Unix(3*86400, 0))
			if err != nil {
				t.Fatal(err)
			}
			return r.KeyFeatures()
		}
		add("export")
		shared := snapshot.ShareDefaults(ctx)
		if got := keys(shared); !slices.Equal(got, []string{"export"}) {
			t.Fatalf("first shared Reader: %v", got)
		}
		add("alerts")
		if got := keys(shared); !slices.Equal(got, []string{"export"}) {
			t.Errorf("second shared Reader: %v, want the first one's", got)
		}
		if got := keys(ctx); !slices.Equal(got, []string{"alerts", "export"}) {
			t.Errorf("a Reader outside: %v", got)
		}
		if got := keys(snapshot.ShareDefaults(ctx)); !slices.Equal(got, []string{"alerts", "export"}) {
			t.Errorf("a new shared context: %v", got)
		}
	})
}
