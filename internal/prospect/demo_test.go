package prospect

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestDemoProspects runs the triage on the demo's trial prospects, whose
// intent the generator planted (internal/demo/accounts.go): every one is
// in the queue, the seed follows the stated intent (a browsing prospect is
// only promoted when engaged), undecided come first, and it reports how
// well usage alone would have told the classes apart.
func TestDemoProspects(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a demo database; runs without -short, as .ci/run does")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
		truth, err := demo.Generate(ctx, db, demo.Config{Seed: 3, Scale: 0.3, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		q, err := Queue(ctx, db, now, "")
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(q)) != truth.Counts.Prospects {
			t.Fatalf("%d in the queue, the demo has %d trial prospects", len(q), truth.Counts.Prospects)
		}
		ids := make([]string, len(q))
		for i, p := range q {
			ids[i] = p.AccountID
		}
		r, err := snapshot.NewReader(ctx, db, now)
		if err != nil {
			t.Fatal(err)
		}
		snaps, err := r.IDs(ctx, db, ids)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]*snapshot.Snapshot{}
		for i := range snaps {
			byID[snaps[i].AccountID] = &snaps[i]
		}
		promoted, usageAgrees, last := 0, 0, -1
		confusion := map[[2]string]int{}
		for _, p := range q {
			s := byID[p.AccountID]
			stated := StatedIntent(s)
			if rk := rank(p.Class); rk < last {
				t.Errorf("%s (%s) after a %s", p.AccountID, p.Class, Classes[last])
			} else {
				last = rk
			}
			switch {
			case p.Class == stated:
			case stated == Browsing && p.Class == Undecided && s.SetupDone && s.ActiveUsers7d >= 2:
				promoted++
			default:
				t.Errorf("%s: stated %s, seeded %s (%s)", p.AccountID, stated, p.Class, p.Seed.Reason)
			}
			if p.TrialDaysLeft == nil || *p.TrialDaysLeft < 0 || *p.TrialDaysLeft > DefaultTrialDays {
				t.Errorf("%s: %v trial days left, want 0–30 (the demo's trials started in the last 30 days)", p.AccountID, p.TrialDaysLeft)
			}
			// The same account with no stated intent: what usage alone says.
			blind := *s
			blind.Attributes = map[string]any{}
			u := Classify(&blind).Class
			confusion[[2]string{stated, u}]++
			if u == stated {
				usageAgrees++
			}
		}
		t.Logf("%d prospects: %d browsing promoted to undecided by usage; usage alone agrees with the planted intent for %d (%.0f%%); "+
			"stated→usage-only: %v", len(q), promoted, usageAgrees, 100*float64(usageAgrees)/float64(len(q)), confusion)
		if confusion[[2]string{Decided, Decided}] != 0 {
			t.Error("usage alone seeded decided")
		}
	})
}
