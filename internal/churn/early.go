package churn

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// firstWeeks is what an account's first four weeks after signup showed, as
// far as they lie at or before the instant asked about.
type firstWeeks struct {
	// loginWeeks counts the weeks w = 0..3 (days [7w, 7w+7) from the
	// signup day) with a login event.
	loginWeeks int
	// setupDay is the days from the signup day to the first setup event
	// within the onboarding window; -1 when there is none.
	setupDay int
}

// onboarded is the usual reading of a good start: the setup done within
// the onboarding window (onboarding_days, default 30) and logins in at
// least three of the first four weeks. The snapshot's onboarding_status
// sees only the setup event, which many accounts that then go quiet also
// send; the weekly logins are what tell a real start from a setup alone.
func (f firstWeeks) onboarded(onboardingDays int) bool {
	return f.setupDay >= 0 && f.setupDay < onboardingDays && f.loginWeeks >= minLoginWeeks
}

// minLoginWeeks of the first four with a login count as regular use.
const minLoginWeeks = 3

// usageConfig is the snapshot settings the first-weeks features read, with
// the snapshot's defaults (internal/snapshot settings login_event,
// setup_event, onboarding_days).
type usageConfig struct {
	login, setup   string
	onboardingDays int
}

func loadUsageConfig(ctx context.Context, q store.Querier) (usageConfig, error) {
	c := usageConfig{login: "login", setup: "setup_completed", onboardingDays: 30}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM settings WHERE key IN ($1, $2, $3)`,
		snapshot.SettingLoginEvent, snapshot.SettingSetupEvent, snapshot.SettingOnboardingDays)
	if err != nil {
		return c, fmt.Errorf("churn features: settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return c, fmt.Errorf("churn features: settings: %w", err)
		}
		v = strings.TrimSpace(v)
		switch k {
		case snapshot.SettingLoginEvent:
			c.login = v
		case snapshot.SettingSetupEvent:
			c.setup = v
		case snapshot.SettingOnboardingDays:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return c, fmt.Errorf("churn features: setting %s=%q: want a whole number of days", k, v)
			}
			c.onboardingDays = n
		}
	}
	return c, rows.Err()
}

// loadFirstWeeks reads every account's first weeks from the daily rollups,
// counting only days up to at's day: a row of a date never learns what
// came after it. The signup day is signup_at's, or the first subscription
// period's start when it is not set (as in the snapshot). One range seek
// per account (usage_daily is keyed by account and day).
func loadFirstWeeks(ctx context.Context, q store.Querier, cfg usageConfig, at time.Time) (map[string]firstWeeks, error) {
	window := max(7*4, cfg.onboardingDays)
	rows, err := q.QueryContext(ctx, `SELECT s.account_id,
			COUNT(DISTINCT CASE WHEN u.event = $1 AND u.day < s.d + 28 THEN (u.day - s.d) / 7 END),
			COALESCE(MIN(CASE WHEN u.event = $2 THEN u.day - s.d END), -1)
		FROM (SELECT a.account_id, COALESCE(a.signup_at,
				(SELECT MIN(p.start_at) FROM subscription_periods p WHERE p.account_id = a.account_id)) / 86400 AS d
			FROM accounts a) s
		JOIN usage_daily u ON u.account_id = s.account_id AND u.day >= s.d AND u.day < s.d + $3 AND u.day <= $4
		WHERE u.event IN ($1, $2)
		GROUP BY s.account_id`, cfg.login, cfg.setup, window, store.Day(at.Unix()))
	if err != nil {
		return nil, fmt.Errorf("churn features: first weeks: %w", err)
	}
	defer rows.Close()
	out := map[string]firstWeeks{}
	for rows.Next() {
		var id string
		var f firstWeeks
		if err := rows.Scan(&id, &f.loginWeeks, &f.setupDay); err != nil {
			return nil, fmt.Errorf("churn features: first weeks: %w", err)
		}
		out[id] = f
	}
	return out, rows.Err()
}

// rowsAt are the paying accounts' snapshots at at with their model inputs
// (Features plus the first-weeks features).
func rowsAt(ctx context.Context, q store.Querier, cfg usageConfig, at time.Time) ([]snapshot.Snapshot, []Example, error) {
	all, err := snapshot.All(ctx, q, at)
	if err != nil {
		return nil, nil, err
	}
	fw, err := loadFirstWeeks(ctx, q, cfg, at)
	if err != nil {
		return nil, nil, err
	}
	var snaps []snapshot.Snapshot
	var exs []Example
	for _, s := range all {
		if s.MRR <= 0 {
			continue
		}
		ex := Features(s)
		f, ok := fw[s.AccountID]
		if !ok {
			f = firstWeeks{setupDay: -1}
		}
		ex.Numeric["first_28d.onboarded"] = flag(f.onboarded(cfg.onboardingDays))
		snaps = append(snaps, s)
		exs = append(exs, ex)
	}
	return snaps, exs, nil
}

func flag(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
