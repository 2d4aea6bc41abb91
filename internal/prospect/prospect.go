// Package prospect owns the pre-purchase side (購入前フェーズ, DESIGN.md C13):
// trial accounts triaged into decided / undecided / browsing (導入決定 /
// 検討中 / 情報収集), what blocks each one and what it wants to achieve, its
// trial success criteria, and its conversion into a customer, which
// carries the record over into the handoff, the success plan and the
// timeline.
//
// A trial account is an account whose custom attribute lifecycle is
// "trial" (as the demo and imports set it). Its stated intent is the
// attribute trial_intent, its trial start trial_started_at and, when set,
// its end trial_ends_at (otherwise DefaultTrialDays after the start).
//
// # Seeding the class
//
// The class is seeded from the stated intent and the trial's usage on the
// current snapshot, unless someone set it by hand (with a reason), which
// wins. "Engaged" means setup_done && active_users_7d >= 2 (a team at
// work, not one person looking); "idle" means no activity in the last 7
// days (or never).
//
//  1. Stated decided: decided. Usage does not undo a decision to buy.
//  2. Stated undecided: undecided.
//  3. Stated browsing: undecided when engaged (they say they are looking,
//     but they are evaluating: help them), else browsing.
//  4. No or unknown stated intent: browsing when idle, else undecided.
//     Usage alone never seeds decided: only the prospect can say that.
//
// The triage queue puts undecided first, then decided, then browsing (seed
// 002: help the undecided first, then the decided, and spend little on those
// just looking); within a class the trial ending soonest first (trials
// already over lead, as the most urgent), then by account id.
package prospect

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// The classes.
const (
	Decided   = "decided"
	Undecided = "undecided"
	Browsing  = "browsing"
)

// Classes lists the classes in triage order.
var Classes = []string{Undecided, Decided, Browsing}

// States of a prospect.
const (
	StatusTrial     = "trial"
	StatusConverted = "converted"
	StatusLost      = "lost"
)

// Statuses lists the states.
var Statuses = []string{StatusTrial, StatusConverted, StatusLost}

// Account attributes the package reads and writes.
const (
	AttrLifecycle     = "lifecycle"
	LifecycleTrial    = "trial"
	LifecycleCustomer = "customer"
	AttrIntent        = "trial_intent"
	AttrStarted       = "trial_started_at"
	AttrEnds          = "trial_ends_at"
	AttrBarrier       = "trial_barrier"
	AttrOutcome       = "desired_outcome"
)

// DefaultTrialDays is a trial's length when trial_ends_at is not set.
const DefaultTrialDays = 30

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("not a trial prospect")
	ErrClosed   = errors.New("the prospect has already converted or been lost")
)

// ValidationError is a field that is not allowed; its text starts with the
// field's JSON name.
type ValidationError struct {
	Field, Message string

	// Format and Args are Message before formatting, for a translation
	// keyed by the English format (the UI's catalog).
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// TrialCriterion is one trial success criterion: what "can use it well" means
// for this prospect, agreed before or early in the trial. With a rule (a
// condition on the snapshot) it is tracked from data; without, Met is kept
// by hand.
type TrialCriterion struct {
	Title string `json:"title" minLength:"1" maxLength:"500"`
	Rule  string `json:"rule,omitempty" maxLength:"4096" doc:"A condition over the snapshot's fields, such as setup_done && active_users_7d >= 3; absent when tracked by hand."`
	Met   bool   `json:"met,omitempty" doc:"Met, kept by hand (without a rule); with a rule, evaluated."`
}

// CheckCriteria validates trial success criteria; the error names the
// criterion by index.
func CheckCriteria(cs []TrialCriterion) error {
	if len(cs) > 50 {
		return invalid("trial_criteria", "at most 50 criteria")
	}
	for i, c := range cs {
		field := fmt.Sprintf("trial_criteria[%d]", i)
		switch {
		case strings.TrimSpace(c.Title) == "":
			return invalid(field+".title", "required")
		case len(c.Title) > 500:
			return invalid(field+".title", "at most 500 bytes")
		case c.Rule != "" && c.Met:
			return invalid(field+".met", "a criterion with a rule is evaluated, not marked by hand")
		}
		if c.Rule != "" {
			if _, err := rule.Compile(c.Rule, rule.Bool); err != nil {
				return &RuleError{Field: field + ".rule", Err: err}
			}
		}
	}
	return nil
}

// RuleError is a criterion's rule that does not compile.
type RuleError struct {
	Field string
	Err   error // a *rule.Error
}

func (e *RuleError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *RuleError) Unwrap() error { return e.Err }

// ProspectRecord is what is stored about a prospect beyond its attributes.
type ProspectRecord struct {
	AccountID      string           `json:"account_id"`
	ClassOverride  string           `json:"class_override,omitempty"`
	OverrideBy     string           `json:"override_by,omitempty"`
	OverrideReason string           `json:"override_reason,omitempty"`
	OverrideAt     *time.Time       `json:"override_at,omitempty"`
	Barriers       string           `json:"barriers"`
	DesiredOutcome string           `json:"desired_outcome"`
	Criteria       []TrialCriterion `json:"trial_criteria"`
	Status         string           `json:"status"`
	FinalClass     string           `json:"final_class,omitempty"`
	ClosedAt       *time.Time       `json:"closed_at,omitempty"`
	ClosedBy       string           `json:"closed_by,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
}

const recordColumns = `account_id, class_override, override_by, override_reason, override_at, barriers, desired_outcome,
	trial_criteria, status, final_class, closed_at, closed_by, created_at, updated_at`

func unixPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(v.Int64, 0).UTC()
	return &t
}

func timeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

func scanRecord(row interface{ Scan(...any) error }) (ProspectRecord, error) {
	var (
		r                ProspectRecord
		override         sql.NullString
		overrideAt, clo  sql.NullInt64
		criteria         string
		created, updated int64
	)
	err := row.Scan(&r.AccountID, &override, &r.OverrideBy, &r.OverrideReason, &overrideAt, &r.Barriers, &r.DesiredOutcome,
		&criteria, &r.Status, &r.FinalClass, &clo, &r.ClosedBy, &created, &updated)
	if err != nil {
		return r, err
	}
	r.ClassOverride, r.OverrideAt, r.ClosedAt = override.String, unixPtr(overrideAt), unixPtr(clo)
	if err := json.Unmarshal([]byte(criteria), &r.Criteria); err != nil {
		return r, fmt.Errorf("trial criteria of %s: %w", r.AccountID, err)
	}
	r.CreatedAt, r.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return r, nil
}

// records returns the stored records of ids (all when ids is nil).
func records(ctx context.Context, q store.Querier, ids []string) (map[string]ProspectRecord, error) {
	out := map[string]ProspectRecord{}
	collect := func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		list, err := store.Collect(rows, scanRecord)
		for _, r := range list {
			out[r.AccountID] = r
		}
		return err
	}
	if ids == nil {
		if err := collect(q.QueryContext(ctx, `SELECT `+recordColumns+` FROM prospects`)); err != nil {
			return nil, fmt.Errorf("prospect records: %w", err)
		}
		return out, nil
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), store.MaxInList)]
		ids = ids[len(chunk):]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if err := collect(q.QueryContext(ctx, `SELECT `+recordColumns+` FROM prospects WHERE account_id IN (`+
			store.Placeholders(1, len(chunk))+`)`, args...)); err != nil {
			return nil, fmt.Errorf("prospect records: %w", err)
		}
	}
	return out, nil
}

// putRecord creates or replaces a record.
func putRecord(ctx context.Context, q store.Querier, r ProspectRecord, now time.Time) error {
	if r.Criteria == nil {
		r.Criteria = []TrialCriterion{}
	}
	criteria, err := json.Marshal(r.Criteria)
	if err != nil {
		return fmt.Errorf("put prospect %s: %w", r.AccountID, err)
	}
	var override any
	if r.ClassOverride != "" {
		override = r.ClassOverride
	}
	n := now.UTC().Unix()
	_, err = q.ExecContext(ctx, `INSERT INTO prospects (`+recordColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
		ON CONFLICT (account_id) DO UPDATE SET class_override = excluded.class_override, override_by = excluded.override_by,
			override_reason = excluded.override_reason, override_at = excluded.override_at, barriers = excluded.barriers,
			desired_outcome = excluded.desired_outcome, trial_criteria = excluded.trial_criteria, status = excluded.status,
			final_class = excluded.final_class, closed_at = excluded.closed_at, closed_by = excluded.closed_by,
			updated_at = excluded.updated_at`,
		r.AccountID, override, r.OverrideBy, r.OverrideReason, timeArg(r.OverrideAt), r.Barriers, r.DesiredOutcome, string(criteria),
		r.Status, r.FinalClass, timeArg(r.ClosedAt), r.ClosedBy, n)
	if err != nil {
		return fmt.Errorf("put prospect %s: %w", r.AccountID, err)
	}
	return nil
}

// trialIDs returns the accounts whose lifecycle attribute is trial, and
// those with a prospect record, in id order.
func trialIDs(ctx context.Context, q store.Querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id FROM account_attributes WHERE name = $1 AND value = $2
		UNION SELECT account_id FROM prospects ORDER BY 1`, AttrLifecycle, LifecycleTrial)
	if err != nil {
		return nil, fmt.Errorf("trial accounts: %w", err)
	}
	ids, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, sc.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("trial accounts: %w", err)
	}
	return ids, nil
}

// ClassSeed is a class seeded from stated intent and usage, with why.
type ClassSeed struct {
	Class  string `json:"class" enum:"decided,undecided,browsing"`
	Reason string `json:"reason"`
}

// intentAliases maps what sales may type as the stated intent to a class.
var intentAliases = map[string]string{
	"decided": Decided, "undecided": Undecided, "browsing": Browsing,
	"導入決定": Decided, "検討中": Undecided, "情報収集": Browsing,
	"just looking": Browsing, "looking": Browsing, "evaluating": Undecided,
}

// StatedIntent reads a snapshot's trial_intent attribute as a class, ""
// when absent or not one the package knows.
func StatedIntent(s *snapshot.Snapshot) string {
	v, _ := s.Attributes[AttrIntent].(string)
	return intentAliases[strings.ToLower(strings.TrimSpace(v))]
}

// Classify seeds a trial account's class from its snapshot by the rules in
// the package documentation.
func Classify(s *snapshot.Snapshot) ClassSeed {
	engaged := s.SetupDone && s.ActiveUsers7d >= 2
	idle := s.DaysSinceActivity < 0 || s.DaysSinceActivity > 7
	usage := fmt.Sprintf("setup %s, %d users active in 7 days", map[bool]string{true: "done", false: "not done"}[s.SetupDone], s.ActiveUsers7d)
	switch StatedIntent(s) {
	case Decided:
		return ClassSeed{Decided, "stated intent decided"}
	case Undecided:
		return ClassSeed{Undecided, "stated intent undecided"}
	case Browsing:
		if engaged {
			return ClassSeed{Undecided, "stated intent browsing, but engaged (" + usage + "): evaluating"}
		}
		return ClassSeed{Browsing, "stated intent browsing"}
	}
	if idle {
		if s.DaysSinceActivity < 0 {
			return ClassSeed{Browsing, "no stated intent and never active"}
		}
		return ClassSeed{Browsing, fmt.Sprintf("no stated intent and idle for %d days", s.DaysSinceActivity)}
	}
	return ClassSeed{Undecided, "no stated intent, active (" + usage + ")"}
}

// ClassOverride is a class set by hand.
type ClassOverride struct {
	Class  string    `json:"class" enum:"decided,undecided,browsing"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// TrialUsage is what of the snapshot the triage shows.
type TrialUsage struct {
	SetupDone         bool    `json:"setup_done"`
	ActiveUsers7d     int     `json:"active_users_7d"`
	ActiveUsers30d    int     `json:"active_users_30d"`
	DaysSinceActivity int     `json:"days_since_activity" doc:"-1 when never active."`
	AdoptionBreadth   float64 `json:"adoption_breadth"`
	Events30d         float64 `json:"events_30d"`
}

// TrialCriterionView is a trial criterion with whether it is met now.
type TrialCriterionView struct {
	TrialCriterion
	From  string `json:"from" enum:"data,manual"`
	Error string `json:"error,omitempty"`
}

// Prospect is a trial account as the triage shows it.
type Prospect struct {
	AccountID      string               `json:"account_id"`
	Name           string               `json:"name"`
	OwnerEmail     string               `json:"owner_email,omitempty"`
	Class          string               `json:"class" enum:"decided,undecided,browsing" doc:"The override when set, else the seed; for a closed prospect, its class when it closed."`
	ClassFrom      string               `json:"class_from" enum:"seed,override,final" doc:"Where class comes from."`
	Seed           ClassSeed            `json:"seed"`
	Override       *ClassOverride       `json:"override,omitempty"`
	StatedIntent   string               `json:"stated_intent,omitempty" doc:"The trial_intent attribute as a class; absent when not stated."`
	TrialStartedAt *time.Time           `json:"trial_started_at,omitempty"`
	TrialEndsAt    *time.Time           `json:"trial_ends_at,omitempty"`
	TrialDaysLeft  *int                 `json:"trial_days_left,omitempty" doc:"Days until the trial ends (negative once over)."`
	Usage          TrialUsage           `json:"usage"`
	Barriers       string               `json:"barriers" doc:"What must be resolved for them to adopt; the trial_barrier attribute until recorded here."`
	DesiredOutcome string               `json:"desired_outcome" doc:"What they want to achieve; the desired_outcome attribute until recorded here."`
	Criteria       []TrialCriterionView `json:"trial_criteria"`
	CriteriaMet    int                  `json:"trial_criteria_met"`
	Status         string               `json:"status" enum:"trial,converted,lost"`
	ClosedAt       *time.Time           `json:"closed_at,omitempty"`
	ClosedBy       string               `json:"closed_by,omitempty"`
}

const day = 24 * time.Hour

// dayNumber is the UTC day of t.
func dayNumber(t time.Time) int { return int(t.Unix() / 86400) }

func text(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// view builds a prospect from its snapshot and record (ok says whether
// there is a record).
func view(s *snapshot.Snapshot, r ProspectRecord, ok bool, now time.Time) Prospect {
	p := Prospect{AccountID: s.AccountID, Name: s.Name, OwnerEmail: s.Owner, Seed: Classify(s), StatedIntent: StatedIntent(s),
		Status: StatusTrial, Criteria: []TrialCriterionView{},
		Usage: TrialUsage{SetupDone: s.SetupDone, ActiveUsers7d: s.ActiveUsers7d, ActiveUsers30d: s.ActiveUsers30d,
			DaysSinceActivity: s.DaysSinceActivity, AdoptionBreadth: s.AdoptionBreadth, Events30d: s.Events30d}}
	p.Class, p.ClassFrom = p.Seed.Class, "seed"
	p.Barriers, p.DesiredOutcome = text(s.Attributes[AttrBarrier]), text(s.Attributes[AttrOutcome])
	if ok {
		if r.ClassOverride != "" {
			p.Override = &ClassOverride{Class: r.ClassOverride, By: r.OverrideBy, Reason: r.OverrideReason}
			if r.OverrideAt != nil {
				p.Override.At = *r.OverrideAt
			}
			p.Class, p.ClassFrom = r.ClassOverride, "override"
		}
		if r.Barriers != "" {
			p.Barriers = r.Barriers
		}
		if r.DesiredOutcome != "" {
			p.DesiredOutcome = r.DesiredOutcome
		}
		p.Status, p.ClosedAt, p.ClosedBy = r.Status, r.ClosedAt, r.ClosedBy
		if r.Status != StatusTrial && r.FinalClass != "" {
			p.Class, p.ClassFrom = r.FinalClass, "final"
		}
		for _, c := range r.Criteria {
			cv := TrialCriterionView{TrialCriterion: c, From: "manual"}
			if c.Rule != "" {
				cv.From = "data"
				rl, err := rule.Compile(c.Rule, rule.Bool)
				if err == nil {
					cv.Met, err = rl.Match(s)
				}
				if err != nil {
					cv.Met, cv.Error = false, err.Error()
				}
			}
			if cv.Met {
				p.CriteriaMet++
			}
			p.Criteria = append(p.Criteria, cv)
		}
	}
	start, _ := s.Attributes[AttrStarted].(time.Time)
	if start.IsZero() && s.SignupDays >= 0 && !s.At.IsZero() {
		start = s.At.Add(-time.Duration(s.SignupDays) * day).Truncate(day)
	}
	if !start.IsZero() {
		p.TrialStartedAt = &start
		end := start.Add(DefaultTrialDays * day)
		if e, ok := s.Attributes[AttrEnds].(time.Time); ok {
			end = e
		}
		left := dayNumber(end) - dayNumber(now)
		p.TrialEndsAt, p.TrialDaysLeft = &end, &left
	}
	return p
}

// isTrial reports whether the snapshot's account is a trial account.
func isTrial(s *snapshot.Snapshot) bool { return text(s.Attributes[AttrLifecycle]) == LifecycleTrial }

// load returns the prospects among ids (trial accounts, and closed
// prospects with a record) at now, keyed by account.
func load(ctx context.Context, q store.Querier, ids []string, now time.Time) ([]Prospect, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	r, err := snapshot.NewReader(ctx, q, now)
	if err != nil {
		return nil, fmt.Errorf("prospects: %w", err)
	}
	snaps, err := r.IDs(ctx, q, ids)
	if err != nil {
		return nil, fmt.Errorf("prospects: %w", err)
	}
	recs, err := records(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	var out []Prospect
	for i := range snaps {
		s := &snaps[i]
		rec, ok := recs[s.AccountID]
		if !isTrial(s) && !ok {
			continue
		}
		out = append(out, view(s, rec, ok, now))
	}
	return out, nil
}

// Get returns one prospect at now: a trial account or a closed prospect;
// ErrNotFound for any other account.
func Get(ctx context.Context, q store.Querier, accountID string, now time.Time) (Prospect, error) {
	list, err := load(ctx, q, []string{accountID}, now)
	if err != nil {
		return Prospect{}, err
	}
	if len(list) == 0 {
		return Prospect{}, fmt.Errorf("account %s: %w", accountID, ErrNotFound)
	}
	return list[0], nil
}

// All returns every prospect at now (open and closed), in account order.
func All(ctx context.Context, q store.Querier, now time.Time) ([]Prospect, error) {
	ids, err := trialIDs(ctx, q)
	if err != nil {
		return nil, err
	}
	return load(ctx, q, ids, now)
}

func rank(class string) int { return slices.Index(Classes, class) }

// SortTriage orders open prospects for the triage queue: by class
// (undecided, decided, browsing), then the trial ending soonest first
// (unknown ends last), then account id.
func SortTriage(ps []Prospect) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if ra, rb := rank(a.Class), rank(b.Class); ra != rb {
			return ra < rb
		}
		switch {
		case a.TrialDaysLeft != nil && b.TrialDaysLeft != nil && *a.TrialDaysLeft != *b.TrialDaysLeft:
			return *a.TrialDaysLeft < *b.TrialDaysLeft
		case (a.TrialDaysLeft == nil) != (b.TrialDaysLeft == nil):
			return a.TrialDaysLeft != nil
		}
		return a.AccountID < b.AccountID
	})
}

// Queue is the triage queue at now: the open prospects (still in trial)
// in triage order, optionally only those of class.
func Queue(ctx context.Context, q store.Querier, now time.Time, class string) ([]Prospect, error) {
	all, err := All(ctx, q, now)
	if err != nil {
		return nil, err
	}
	out := []Prospect{}
	for _, p := range all {
		if p.Status == StatusTrial && (class == "" || p.Class == class) {
			out = append(out, p)
		}
	}
	SortTriage(out)
	return out, nil
}

// Change is an update of a prospect; nil fields stay.
type Change struct {
	Barriers       *string
	DesiredOutcome *string
	Criteria       *[]TrialCriterion
	// Class sets the class by hand (with Reason, required); "" clears the
	// override, so the seed applies again.
	Class  *string
	Reason string
	// Lost closes the trial as lost (true) or reopens it (false).
	Lost *bool
}

// getRecord returns the stored record, or a new one for a trial account.
func getRecord(ctx context.Context, q store.Querier, accountID string, now time.Time) (ProspectRecord, bool, error) {
	recs, err := records(ctx, q, []string{accountID})
	if err != nil {
		return ProspectRecord{}, false, err
	}
	if r, ok := recs[accountID]; ok {
		return r, true, nil
	}
	t := now.UTC().Truncate(time.Second)
	return ProspectRecord{AccountID: accountID, Status: StatusTrial, Criteria: []TrialCriterion{}, CreatedAt: t, UpdatedAt: t}, false, nil
}

// Update applies c to a prospect, by whom (an email or actor name), and
// returns the stored record before (nil when there was none) and after.
func Update(ctx context.Context, q store.Querier, accountID string, c Change, by string, now time.Time) (before *ProspectRecord, after ProspectRecord, _ error) {
	p, err := Get(ctx, q, accountID, now)
	if err != nil {
		return nil, after, err
	}
	r, exists, err := getRecord(ctx, q, accountID, now)
	if err != nil {
		return nil, after, err
	}
	if exists {
		b := r
		before = &b
	}
	t := now.UTC().Truncate(time.Second)
	if c.Barriers != nil {
		r.Barriers = strings.TrimSpace(*c.Barriers)
	}
	if c.DesiredOutcome != nil {
		r.DesiredOutcome = strings.TrimSpace(*c.DesiredOutcome)
	}
	if c.Criteria != nil {
		cs := slices.Clone(*c.Criteria)
		for i := range cs {
			cs[i].Title = strings.TrimSpace(cs[i].Title)
			cs[i].Rule = strings.TrimSpace(cs[i].Rule)
		}
		if err := CheckCriteria(cs); err != nil {
			return before, after, err
		}
		r.Criteria = cs
	}
	if c.Class != nil {
		switch {
		case *c.Class == "":
			r.ClassOverride, r.OverrideBy, r.OverrideReason, r.OverrideAt = "", "", "", nil
		case !slices.Contains(Classes, *c.Class):
			return before, after, invalid("class", "%q is not one of %s", *c.Class, strings.Join(Classes, ", "))
		case strings.TrimSpace(c.Reason) == "":
			return before, after, invalid("reason", "required when setting the class by hand (why the seed is wrong)")
		default:
			r.ClassOverride, r.OverrideBy, r.OverrideReason, r.OverrideAt = *c.Class, by, strings.TrimSpace(c.Reason), &t
		}
	}
	if c.Lost != nil {
		switch {
		case r.Status == StatusConverted:
			return before, after, ErrClosed
		case *c.Lost && r.Status == StatusTrial:
			class := p.Class
			if r.ClassOverride != "" {
				class = r.ClassOverride
			}
			r.Status, r.FinalClass, r.ClosedAt, r.ClosedBy = StatusLost, class, &t, by
		case !*c.Lost && r.Status == StatusLost:
			r.Status, r.FinalClass, r.ClosedAt, r.ClosedBy = StatusTrial, "", nil, ""
		}
	}
	r.UpdatedAt = t
	if err := putRecord(ctx, q, r, now); err != nil {
		return before, after, err
	}
	recs, err := records(ctx, q, []string{accountID})
	if err != nil {
		return before, after, err
	}
	return before, recs[accountID], nil
}

// ClassConversion is the conversion of the prospects of one class.
type ClassConversion struct {
	Class          string   `json:"class" doc:"decided, undecided, browsing, or all."`
	Prospects      int      `json:"prospects" doc:"Open, converted and lost prospects of the class (closed ones by their class when they closed)."`
	Open           int      `json:"open"`
	Converted      int      `json:"converted"`
	Lost           int      `json:"lost"`
	ConversionRate *float64 `json:"conversion_rate" doc:"converted / prospects; null without prospects."`
	CloseRate      *float64 `json:"close_rate" doc:"converted / (converted + lost): the rate among trials that have ended; null when none has."`
}

func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	v := float64(a) / float64(b)
	return &v
}

// Rates counts conversion by class at now, with the total last.
func Rates(ctx context.Context, q store.Querier, now time.Time) ([]ClassConversion, error) {
	all, err := All(ctx, q, now)
	if err != nil {
		return nil, err
	}
	by := map[string]*ClassConversion{}
	out := make([]ClassConversion, len(Classes)+1)
	for i, c := range append(slices.Clone(Classes), "all") {
		out[i].Class = c
		by[c] = &out[i]
	}
	for _, p := range all {
		for _, r := range []*ClassConversion{by[p.Class], by["all"]} {
			if r == nil {
				continue
			}
			r.Prospects++
			switch p.Status {
			case StatusConverted:
				r.Converted++
			case StatusLost:
				r.Lost++
			default:
				r.Open++
			}
		}
	}
	for i := range out {
		out[i].ConversionRate = ratio(out[i].Converted, out[i].Prospects)
		out[i].CloseRate = ratio(out[i].Converted, out[i].Converted+out[i].Lost)
	}
	return out, nil
}
