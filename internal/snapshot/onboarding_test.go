package snapshot_test

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestLoginWeeks: weeks are counted from the signup day (a signup late in
// the evening still starts week 0 that day), only whole weeks of the window,
// and only up to the snapshot's day.
func TestLoginWeeks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signup := day(2024, 3, 4).Add(23*time.Hour + 30*time.Minute)
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "A", SignupAt: &signup}); err != nil {
			t.Fatal(err)
		}
		sd := store.Day(signup.Unix())
		var counts []usage.DailyCount
		// The day before signup, days 6 (week 0), 13 (week 1), 27 (week 3),
		// 28 (week 4: outside a 30-day window's four weeks).
		for _, n := range []int64{-1, 6, 13, 27, 28} {
			counts = append(counts, usage.DailyCount{Day: sd + n, Event: "login", Count: 2})
		}
		if err := usage.AddRollups(ctx, db, "a", counts, nil); err != nil {
			t.Fatal(err)
		}
		at := func(n int64) time.Time { return time.Unix((sd+n)*86400+3600, 0) }
		for _, c := range []struct {
			name   string
			window string // onboarding_days setting; "" default 30
			atDay  int64
			weeks  int
			rate   float64
		}{
			{"signup day", "", 0, 0, 0},
			{"day 6", "", 6, 1, 0.25},
			{"day 27", "", 27, 3, 0.75},
			{"day 60", "", 60, 3, 0.75},
			{"two-week window", "14", 60, 2, 1},
			{"six-day window", "6", 60, 0, 0},
		} {
			if c.window != "" {
				if _, err := snapshot.SetSetting(ctx, db, snapshot.SettingOnboardingDays, c.window); err != nil {
					t.Fatal(err)
				}
			}
			s, err := snapshot.Get(ctx, db, "a", at(c.atDay))
			if err != nil {
				t.Fatal(err)
			}
			if s.LoginWeeks != c.weeks || s.LoginWeekRate != c.rate {
				t.Errorf("%s: login_weeks %d, login_week_rate %g; want %d, %g", c.name, s.LoginWeeks, s.LoginWeekRate, c.weeks, c.rate)
			}
		}
		// A saved definition's window wins over the setting.
		if _, err := db.ExecContext(ctx, `INSERT INTO onboarding_definitions (version, rule, applies, window_days, saved_at, saved_by) VALUES (1, 'setup_done', '', 21, 0, '')`); err != nil {
			t.Fatal(err)
		}
		s, err := snapshot.Get(ctx, db, "a", at(60))
		if err != nil || s.LoginWeeks != 2 || s.LoginWeekRate != 2.0/3 || s.OnboardingStatus != "overdue" {
			t.Errorf("21-day definition: %d, %g, %s, %v", s.LoginWeeks, s.LoginWeekRate, s.OnboardingStatus, err)
		}
		if got := snapshot.OnboardingStatusAt(nil, false, sd, 30, sd+5); got != "not_applicable" {
			t.Errorf("no signup: %s", got)
		}
	})
}
