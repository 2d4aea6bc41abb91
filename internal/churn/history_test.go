package churn_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestHistoryPruned: storing a run keeps churn.history_days (400 by
// default) of runs before it and the latest run older than that, which the
// snapshots at the window's start still read; 0 keeps every run.
func TestHistoryPruned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A"}); err != nil {
			t.Fatal(err)
		}
		day0 := time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)
		at := func(d int) time.Time { return day0.AddDate(0, 0, d) }
		store1 := func(d int, p float64) {
			t.Helper()
			if _, err := churn.StoreScores(ctx, db, []churn.Risk{{AccountID: "a", Probability: p}}, at(d-90), at(d)); err != nil {
				t.Fatal(err)
			}
		}
		runs := func() []int {
			t.Helper()
			rows, err := db.QueryContext(ctx, `SELECT scored_at FROM churn_score_history ORDER BY scored_at`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []int
			for rows.Next() {
				var s int64
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				out = append(out, int(time.Unix(s, 0).Sub(day0).Hours()/24))
			}
			return out
		}
		// Runs on days 0, 100, 200, 300 and 450 (probability day/1000).
		// At day 450 the window starts at day 50, and day 0 is the latest
		// run at or before it (snapshots of days 50–99 read it): it stays.
		for _, d := range []int{0, 100, 200, 300} {
			store1(d, float64(d)/1000)
		}
		store1(450, 0.45)
		if got := runs(); !slices.Equal(got, []int{0, 100, 200, 300, 450}) {
			t.Errorf("after day 450: runs %v, want all five (day 0 is the latest at or before day 50)", got)
		}
		// At day 520 the window starts at day 120: day 100 is the latest
		// run at or before it and stays; day 0 goes.
		store1(520, 0.52)
		if got := runs(); !slices.Equal(got, []int{100, 200, 300, 450, 520}) {
			t.Errorf("after day 520: runs %v, want [100 200 300 450 520]", got)
		}
		// A snapshot inside the window sees what it saw: day 120 reads day
		// 100's run (0.1); day 50 is older than the window: unscored.
		for _, c := range []struct {
			day  int
			want float64
		}{{120, 0.1}, {250, 0.2}, {500, 0.45}, {50, -1}} {
			s, err := snapshot.Get(ctx, db, "a", at(c.day))
			if err != nil {
				t.Fatal(err)
			}
			if s.ChurnRisk != c.want {
				t.Errorf("churn_risk at day %d = %v, want %v", c.day, s.ChurnRisk, c.want)
			}
		}
		// 0 keeps every run; a shorter window prunes at the next run.
		if _, err := churn.SetSetting(ctx, db, churn.SettingHistoryDays, "0"); err != nil {
			t.Fatal(err)
		}
		store1(1000, 0.9)
		if got := runs(); !slices.Equal(got, []int{100, 200, 300, 450, 520, 1000}) {
			t.Errorf("with churn.history_days 0: runs %v", got)
		}
		if _, err := churn.SetSetting(ctx, db, churn.SettingHistoryDays, "30"); err != nil {
			t.Fatal(err)
		}
		store1(1001, 0.8)
		// The window starts at day 971: day 520 is the latest run before it.
		if got := runs(); !slices.Equal(got, []int{520, 1000, 1001}) {
			t.Errorf("with churn.history_days 30: runs %v, want [520 1000 1001]", got)
		}
		for _, bad := range []string{"-1", "x", "3651"} {
			if _, err := churn.SetSetting(ctx, db, churn.SettingHistoryDays, bad); !errors.Is(err, churn.ErrBadSetting) {
				t.Errorf("churn.history_days %q: %v, want ErrBadSetting", bad, err)
			}
		}
	})
}
