package snapshot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// The onboarding fields: login_weeks and login_week_rate are usage since
// signup, so that an onboarding definition such as "setup within 30 days and
// a login in at least 60% of the first four weeks" is a rule read on the
// snapshot at the end of the window; onboarding_status and
// onboarding_milestones come from what internal/onboarding stored.

// Onboarding statuses of the snapshot's onboarding_status field.
const (
	OnboardingCompleted     = "completed"
	OnboardingInProgress    = "in_progress"
	OnboardingOverdue       = "overdue"
	OnboardingNotApplicable = "not_applicable"
)

// OnboardingResult is an account's stored evaluation of the onboarding
// definition (table onboarding_results, written by internal/onboarding).
type OnboardingResult struct {
	Version    int64
	SignupDay  int64
	WindowDays int
	// Status is completed, missed, open or not_applicable.
	Status string
	// CompletedDay is the day the definition first held; -1 when it has not.
	CompletedDay int64
}

// OnboardingStatusAt is the onboarding_status on day today of an account
// whose signup is on signupDay (known false: no signup yet), with onboarding
// window window days and stored result r (nil when none is stored for the
// definition in force and this signup day). Without a result the window
// alone decides: in_progress while it runs, overdue after.
func OnboardingStatusAt(r *OnboardingResult, known bool, signupDay int64, window int, today int64) string {
	switch {
	case !known || today < signupDay:
		return OnboardingNotApplicable
	case r != nil && r.Status == "not_applicable":
		return OnboardingNotApplicable
	case r != nil && r.CompletedDay >= 0 && r.CompletedDay <= today:
		return OnboardingCompleted
	case today >= signupDay+int64(window):
		return OnboardingOverdue
	}
	return OnboardingInProgress
}

// At returns a Reader computing snapshots at instant at with the settings,
// rates and attribute types r loaded: onboarding evaluates accounts at the
// end of days of their windows, many instants in one recompute.
func (r *Reader) At(at time.Time) *Reader {
	c := *r
	c.at = at
	return &c
}

// Instant is the instant the reader computes snapshots at.
func (r *Reader) Instant() time.Time { return r.at }

// OnboardingWindow is the onboarding window in days the reader's snapshots
// use: the definition in force's, else the onboarding_days setting.
func (r *Reader) OnboardingWindow() int { return r.cfg.onboardingDays }

// OnboardingVersion is the version of the onboarding definition in force
// when the reader was made (0: none saved).
func (r *Reader) OnboardingVersion() int64 { return r.cfg.onboardingVersion }

// loadOnboardingDefinition reads the window of the definition in force.
func loadOnboardingDefinition(ctx context.Context, q store.Querier, c *config) error {
	var version int64
	var window int
	err := q.QueryRowContext(ctx, `SELECT version, window_days FROM onboarding_definitions ORDER BY version DESC LIMIT 1`).Scan(&version, &window)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("snapshot: onboarding definition: %w", err)
	}
	c.onboardingVersion, c.onboardingDays = version, window
	return nil
}

// onboardingFields fills LoginWeeks, LoginWeekRate, OnboardingStatus and
// OnboardingMilestones. Login weeks read at most the window's first weeks of
// rollups an account, whatever its age.
func onboardingFields(each eachFunc, cfg config, at time.Time, signup map[string]int64, out []Snapshot, get func(string) *Snapshot) error {
	t := at.Unix()
	today := store.Day(t)
	weeks := int64(cfg.onboardingDays / 7)
	signupDay := func(id string) (int64, bool) {
		sign, ok := signup[id]
		if !ok || sign > t {
			return 0, false
		}
		return store.Day(sign), true
	}
	if weeks > 0 {
		// From the accounts to the rollup (CROSS JOIN keeps that order on
		// SQLite): one seek per account to its first weeks, not a pass over
		// every account's whole history.
		seen := map[string]uint64{} // bit w: a login in week w
		err := each("login weeks", `SELECT u.account_id, u.day FROM (
				SELECT a.account_id, COALESCE(a.signup_at, (SELECT MIN(p.start_at) FROM subscription_periods p
					WHERE p.account_id = a.account_id AND p.start_at <= $3)) AS signup
				FROM accounts a WHERE %[1]s) s
			CROSS JOIN usage_daily u
			WHERE u.account_id = s.account_id AND u.event = $1
				AND u.day >= s.signup / 86400 - 1 AND u.day < s.signup / 86400 + $4 AND u.day <= $2`, "a.account_id",
			[]any{cfg.login, today, t, 7 * weeks}, func(rows *sql.Rows) error {
				var id string
				var d int64
				if err := rows.Scan(&id, &d); err != nil {
					return err
				}
				// The SQL bound is a day wide (its division truncates);
				// the week is counted from the exact signup day here.
				sd, ok := signupDay(id)
				if w := d - sd; ok && w >= 0 && w < 7*weeks && w/7 < 64 {
					seen[id] |= 1 << (w / 7)
				}
				return nil
			})
		if err != nil {
			return err
		}
		for id, bits := range seen {
			if s := get(id); s != nil {
				for ; bits != 0; bits &= bits - 1 {
					s.LoginWeeks++
				}
				s.LoginWeekRate = float64(s.LoginWeeks) / float64(weeks)
			}
		}
	}
	err := each("onboarding milestones", `SELECT c.account_id, c.milestone_id FROM onboarding_checklist c
		JOIN onboarding_milestones m ON m.milestone_id = c.milestone_id
		WHERE %[1]s AND c.done = 1 AND c.at <= $1 ORDER BY c.account_id, m.position, m.milestone_id`, "c.account_id",
		[]any{t}, func(rows *sql.Rows) error {
			var id, m string
			if err := rows.Scan(&id, &m); err != nil {
				return err
			}
			if s := get(id); s != nil {
				s.OnboardingMilestones = append(s.OnboardingMilestones, m)
			}
			return nil
		})
	if err != nil {
		return err
	}
	results := map[string]*OnboardingResult{}
	err = each("onboarding results", `SELECT account_id, version, signup_day, window_days, status, COALESCE(completed_day, -1)
		FROM onboarding_results WHERE %[1]s AND version = $1`, "account_id", []any{cfg.onboardingVersion}, func(rows *sql.Rows) error {
		var id string
		var r OnboardingResult
		if err := rows.Scan(&id, &r.Version, &r.SignupDay, &r.WindowDays, &r.Status, &r.CompletedDay); err != nil {
			return err
		}
		results[id] = &r
		return nil
	})
	if err != nil {
		return err
	}
	for i := range out {
		s := &out[i]
		sd, known := signupDay(s.AccountID)
		r := results[s.AccountID]
		if r != nil && (r.SignupDay != sd || r.WindowDays != cfg.onboardingDays) {
			r = nil // stored for another signup day or window: stale
		}
		if r == nil && cfg.onboardingVersion == 0 && known && s.SetupDone && s.DaysToSetup < cfg.onboardingDays {
			// The default definition (setup_done) needs no evaluation: the
			// setup event's day answers it before any recompute.
			r = &OnboardingResult{Status: "completed", CompletedDay: sd + int64(s.DaysToSetup)}
		}
		s.OnboardingStatus = OnboardingStatusAt(r, known, sd, cfg.onboardingDays, today)
	}
	return nil
}
