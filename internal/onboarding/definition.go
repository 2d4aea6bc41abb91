// Package onboarding owns the onboarding definition, the milestone checklist
// and each account's onboarding result.
//
// The definition is a rule over a window from signup: an expr condition on
// the account snapshot (internal/rule) and a window in days. The window of an
// account whose signup is on day s is days [s, s + window_days). The account
// completes onboarding on the first day d of its window at the end of which
// the rule holds on its snapshot; it has missed it when the rule has not held
// by the end of the window's last day. Rules are meant to say what must have
// happened by then (setup done, logins in enough weeks, milestones done),
// which once true stays true. A window still running is read day by day as
// the recompute passes; a window that closed before it was evaluated (the
// first run, or after a new definition) is read at its last day and, when the
// rule holds there, from signup on until the first day it holds.
//
// The demo's definition, "setup_completed on a day in [signup, signup + 30)
// and a login in at least 60% of the first four weeks", is
//
//	rule: setup_done && login_week_rate >= 0.6, window_days: 30
//
// (within the window setup_done means the setup was on a day of it, and
// login_week_rate counts the window's four whole weeks).
//
// Milestones are the checklist (initial setup plus the core features): each
// is completed automatically when its event is first seen in the account's
// rollups, or by hand, and can be uncompleted by hand. Rules can read them
// through the snapshot's onboarding_milestones.
package onboarding

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// MaxWindowDays bounds the window: onboarding is a first phase, and the
// snapshot's login weeks count at most 64 weeks.
const MaxWindowDays = 365

// DefaultRule is the rule in force until a definition is saved, with the
// onboarding_days setting (default 30) as its window.
const DefaultRule = "setup_done"

// ErrInvalid wraps every complaint about a definition or a milestone.
var ErrInvalid = errors.New("invalid")

// ErrNotFound is returned for an unknown milestone or account.
var ErrNotFound = errors.New("not found")

// OnboardingDefinition is the onboarding definition.
type OnboardingDefinition struct {
	Version    int64      `json:"version" doc:"Increases with every save; 0 is the default definition (none saved)."`
	Rule       string     `json:"rule" doc:"A condition over the snapshot (GET /api/v1/snapshot/fields) that must hold by the end of the window."`
	Applies    string     `json:"applies,omitempty" doc:"An optional condition choosing the accounts the definition applies to (read with the rule); others are not_applicable."`
	WindowDays int        `json:"window_days" doc:"The window: days [signup, signup + window_days)."`
	SavedAt    *time.Time `json:"saved_at,omitempty"`
	SavedBy    string     `json:"saved_by,omitempty"`
}

// FieldError is a definition field that is refused: which one and why.
// Rule is set when the field is a rule that does not compile.
type FieldError struct {
	Field  string
	Reason string
	Rule   *rule.Error
}

func (e *FieldError) Error() string {
	if e.Rule != nil {
		return fmt.Sprintf("%s: %s", e.Field, e.Rule.Error())
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return ErrInvalid }

// compiled is a definition ready to evaluate.
type compiled struct {
	OnboardingDefinition
	rule    *rule.Rule
	applies *rule.Rule // nil: every account
}

// fields are the snapshot fields the definition's rules read: all that its
// evaluations compute of a snapshot.
func (c *compiled) fields() []string {
	fs := c.rule.Fields()
	if c.applies != nil {
		fs = append(fs, c.applies.Fields()...)
	}
	return fs
}

// Compile validates d and compiles its rules.
func compile(d OnboardingDefinition) (*compiled, error) {
	if d.WindowDays < 1 || d.WindowDays > MaxWindowDays {
		return nil, &FieldError{Field: "window_days", Reason: fmt.Sprintf("%d: want 1 to %d days", d.WindowDays, MaxWindowDays)}
	}
	r, err := rule.Compile(d.Rule, rule.Bool)
	if err != nil {
		var re *rule.Error
		if errors.As(err, &re) {
			return nil, &FieldError{Field: "rule", Rule: re}
		}
		return nil, err
	}
	c := &compiled{OnboardingDefinition: d, rule: r}
	if strings.TrimSpace(d.Applies) != "" {
		a, err := rule.Compile(d.Applies, rule.Bool)
		if err != nil {
			var re *rule.Error
			if errors.As(err, &re) {
				return nil, &FieldError{Field: "applies", Rule: re}
			}
			return nil, err
		}
		c.applies = a
	}
	return c, nil
}

// Validate reports whether d can be saved: the window's bounds and rules
// that compile, with the position of the first error.
func Validate(d OnboardingDefinition) error {
	_, err := compile(d)
	return err
}

// Get returns the definition in force: the last saved, or the default one.
func Get(ctx context.Context, q store.Querier) (OnboardingDefinition, error) {
	var d OnboardingDefinition
	var at int64
	err := q.QueryRowContext(ctx, `SELECT version, rule, applies, window_days, saved_at, saved_by FROM onboarding_definitions
		ORDER BY version DESC LIMIT 1`).Scan(&d.Version, &d.Rule, &d.Applies, &d.WindowDays, &at, &d.SavedBy)
	switch {
	case err == nil:
		t := time.Unix(at, 0).UTC()
		d.SavedAt = &t
		return d, nil
	case !errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("onboarding definition: %w", err)
	}
	days := 30
	var v string
	err = q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, snapshot.SettingOnboardingDays).Scan(&v)
	switch {
	case err == nil:
		n, perr := strconv.Atoi(strings.TrimSpace(v))
		if perr != nil || n < 1 || n > MaxWindowDays {
			return d, fmt.Errorf("onboarding definition: setting %s=%q: want 1 to %d days", snapshot.SettingOnboardingDays, v, MaxWindowDays)
		}
		days = n
	case !errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("onboarding definition: %w", err)
	}
	return OnboardingDefinition{Rule: DefaultRule, WindowDays: days}, nil
}

// Save validates d and stores it as the definition in force (a new
// version), returning it as saved. Every account's result is evaluated anew
// by the next recompute: results of older versions are stale.
func Save(ctx context.Context, q store.Querier, d OnboardingDefinition, by string, at time.Time) (OnboardingDefinition, error) {
	d.Rule, d.Applies = strings.TrimSpace(d.Rule), strings.TrimSpace(d.Applies)
	if err := Validate(d); err != nil {
		return OnboardingDefinition{}, err
	}
	var last int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM onboarding_definitions`).Scan(&last); err != nil {
		return OnboardingDefinition{}, fmt.Errorf("save onboarding definition: %w", err)
	}
	d.Version, d.SavedBy = last+1, by
	t := at.UTC().Truncate(time.Second)
	d.SavedAt = &t
	if _, err := q.ExecContext(ctx, `INSERT INTO onboarding_definitions (version, rule, applies, window_days, saved_at, saved_by)
		VALUES ($1, $2, $3, $4, $5, $6)`, d.Version, d.Rule, d.Applies, d.WindowDays, t.Unix(), by); err != nil {
		return OnboardingDefinition{}, fmt.Errorf("save onboarding definition: %w", err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM onboarding_results WHERE version <> $1`, d.Version); err != nil {
		return OnboardingDefinition{}, fmt.Errorf("save onboarding definition: clear stale results: %w", err)
	}
	return d, nil
}
