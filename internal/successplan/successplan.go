// Package successplan owns success plans (サクセスプラン): per account, the
// goals the customer and the CSM agreed, each with a measurable success
// criterion, the milestones towards them with owners and due dates, and the
// read-only links that show the plan to the customer.
//
// A goal's criterion is tracked from data where possible — a condition
// (rule) or a number (metric) with a target, both written in the rule
// language against the account snapshot and evaluated on the current
// snapshot whenever the plan is read — or by hand (a percentage). Goals
// start as drafts; only agreed and achieved goals are shown to the customer,
// so that a CSM can prepare goals (for example from the sales handoff's
// success criteria) before agreeing them.
package successplan

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Languages a plan's shared page can be shown in.
var Languages = []string{"en", "ja"}

// PlanStatuses lists the states of a plan.
var PlanStatuses = []string{"draft", "active", "completed", "archived"}

// GoalStatuses are the states of a goal: draft (prepared, not yet agreed with the customer), agreed,
// achieved (confirmed by hand) and dropped.
var GoalStatuses = []string{GoalDraft, GoalAgreed, GoalAchieved, GoalDropped}

// The goal states.
const (
	GoalDraft    = "draft"
	GoalAgreed   = "agreed"
	GoalAchieved = "achieved"
	GoalDropped  = "dropped"
)

// How a goal's criterion is tracked.
const (
	TrackRule   = "rule"   // a condition on the snapshot: met or not
	TrackMetric = "metric" // a number on the snapshot against a target
	TrackManual = "manual" // a percentage kept by hand
)

// Trackings lists the ways a criterion is tracked.
var Trackings = []string{TrackRule, TrackMetric, TrackManual}

// Where a goal came from.
const (
	SourceManual   = "manual"
	SourceHandoff  = "handoff"  // the sales handoff's success criteria
	SourceProspect = "prospect" // a converted prospect's trial success criteria
)

// Sources lists where goals come from.
var Sources = []string{SourceManual, SourceHandoff, SourceProspect}

// MilestoneStatuses are the states of a milestone.
var MilestoneStatuses = []string{MilestoneOpen, MilestoneDone, MilestoneSkipped}

// The milestone states.
const (
	MilestoneOpen    = "open"
	MilestoneDone    = "done"
	MilestoneSkipped = "skipped"
)

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("not found")
	ErrRevoked  = errors.New("the link was revoked")
)

// ValidationError is a field of a plan, goal or milestone that is not
// allowed; its text starts with the field's JSON name and a colon.
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

// SuccessPlan is an account's success plan.
type SuccessPlan struct {
	AccountID  string    `json:"account_id"`
	Title      string    `json:"title"`
	Language   string    `json:"language" enum:"en,ja" doc:"The customer's language: the shared page is shown in it."`
	Status     string    `json:"status" enum:"draft,active,completed,archived"`
	OwnerEmail string    `json:"owner_email,omitempty" doc:"Who runs the plan on our side (usually the CSM)."`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// PlanGoal is one of the customer's goals with its success criterion.
type PlanGoal struct {
	ID          string `json:"goal_id"`
	AccountID   string `json:"account_id"`
	Position    int    `json:"position" doc:"Goals are listed by position (1 first)."`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Tracking    string `json:"tracking" enum:"rule,metric,manual" doc:"rule: met when the condition holds on the current snapshot; metric: a number on the snapshot against target; manual: manual_percent."`
	Rule        string `json:"rule,omitempty" doc:"With tracking rule: a condition over the snapshot's fields, such as setup_done && active_users_30d >= 10."`
	Metric      string `json:"metric,omitempty" doc:"With tracking metric: a number over the snapshot's fields, such as seat_utilization or usage_30d[\"report_created\"]."`
	// Baseline and Target bound a metric's progress: (value − baseline) /
	// (target − baseline), so a target below the baseline tracks a decrease.
	Baseline      *float64   `json:"baseline,omitempty" doc:"With tracking metric: where progress starts (0 when absent); a target below it tracks a decrease."`
	Target        *float64   `json:"target,omitempty" doc:"With tracking metric: the value that meets the criterion (required)."`
	ManualPercent float64    `json:"manual_percent" doc:"With tracking manual: progress 0–100 kept by hand."`
	Status        string     `json:"status" enum:"draft,agreed,achieved,dropped" doc:"Only agreed and achieved goals are shown to the customer; achieved (set by hand) counts as met."`
	Source        string     `json:"source" enum:"manual,handoff,prospect" doc:"Where the goal came from: by hand, the sales handoff, or a converted prospect's trial criteria."`
	DueAt         *time.Time `json:"due_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Shared reports whether the customer sees the goal.
func (g PlanGoal) Shared() bool { return g.Status == GoalAgreed || g.Status == GoalAchieved }

// PlanMilestone is a step towards the plan's goals.
type PlanMilestone struct {
	ID          string     `json:"milestone_id"`
	AccountID   string     `json:"account_id"`
	GoalID      string     `json:"goal_id,omitempty" doc:"The goal it leads to; absent for a step of the whole plan."`
	Position    int        `json:"position"`
	Title       string     `json:"title"`
	OwnerEmail  string     `json:"owner_email,omitempty" doc:"Who does it: one of us or the customer's contact."`
	DueAt       *time.Time `json:"due_at,omitempty"`
	Status      string     `json:"status" enum:"open,done,skipped"`
	CompletedAt *time.Time `json:"completed_at,omitempty" doc:"When it became done or skipped."`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Overdue reports whether m is still open past its due date at now.
func (m PlanMilestone) Overdue(now time.Time) bool {
	return m.Status == MilestoneOpen && m.DueAt != nil && m.DueAt.Before(now)
}

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

func floatPtr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func floatArg(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func nowUTC(now time.Time) time.Time { return now.UTC().Truncate(time.Second) }

// CheckPlan validates a plan's fields.
func CheckPlan(p SuccessPlan) error {
	switch {
	case strings.TrimSpace(p.AccountID) == "":
		return invalid("account_id", "required")
	case len(p.Title) > 500:
		return invalid("title", "at most 500 bytes")
	case !slices.Contains(Languages, p.Language):
		return invalid("language", "%q is not one of %s", p.Language, strings.Join(Languages, ", "))
	case !slices.Contains(PlanStatuses, p.Status):
		return invalid("status", "%q is not one of %s", p.Status, strings.Join(PlanStatuses, ", "))
	}
	return nil
}

const planColumns = `account_id, title, language, status, owner_email, created_at, updated_at`

func scanPlan(row interface{ Scan(...any) error }) (SuccessPlan, error) {
	var p SuccessPlan
	var created, updated int64
	if err := row.Scan(&p.AccountID, &p.Title, &p.Language, &p.Status, &p.OwnerEmail, &created, &updated); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return p, nil
}

// GetPlan returns an account's plan, or ErrNotFound.
func GetPlan(ctx context.Context, q store.Querier, accountID string) (SuccessPlan, error) {
	p, err := scanPlan(q.QueryRowContext(ctx, `SELECT `+planColumns+` FROM success_plans WHERE account_id = $1`, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("success plan of %s: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("success plan of %s: %w", accountID, err)
	}
	return p, nil
}

// PutPlan creates or replaces an account's plan (its own fields; goals,
// milestones and links stay) and returns it as stored. Empty language and
// status default to en and draft.
func PutPlan(ctx context.Context, q store.Querier, p SuccessPlan, now time.Time) (SuccessPlan, error) {
	if p.Language == "" {
		p.Language = "en"
	}
	if p.Status == "" {
		p.Status = "draft"
	}
	p.Title = strings.TrimSpace(p.Title)
	if err := CheckPlan(p); err != nil {
		return p, err
	}
	n := nowUTC(now).Unix()
	_, err := q.ExecContext(ctx, `INSERT INTO success_plans (`+planColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (account_id) DO UPDATE SET title = excluded.title, language = excluded.language, status = excluded.status,
			owner_email = excluded.owner_email, updated_at = excluded.updated_at`,
		p.AccountID, p.Title, p.Language, p.Status, p.OwnerEmail, n)
	if err != nil {
		return p, fmt.Errorf("put success plan of %s: %w", p.AccountID, err)
	}
	return GetPlan(ctx, q, p.AccountID)
}

// EnsurePlan returns an account's plan, creating a draft one (in English,
// owned by owner) when there is none; created says which.
func EnsurePlan(ctx context.Context, q store.Querier, accountID, owner string, now time.Time) (p SuccessPlan, created bool, _ error) {
	p, err := GetPlan(ctx, q, accountID)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return p, false, err
	}
	p, err = PutPlan(ctx, q, SuccessPlan{AccountID: accountID, OwnerEmail: owner}, now)
	return p, err == nil, err
}

// DeletePlan removes an account's plan with its goals, milestones and links.
func DeletePlan(ctx context.Context, q store.Querier, accountID string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM success_plans WHERE account_id = $1`, accountID)
	if err != nil {
		return fmt.Errorf("delete success plan of %s: %w", accountID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("success plan of %s: %w", accountID, ErrNotFound)
	}
	return nil
}

// ListPlans returns the plans, by account, optionally only those in status.
func ListPlans(ctx context.Context, q store.Querier, status string, afterID string, limit int) ([]SuccessPlan, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+planColumns+` FROM success_plans
		WHERE ($1 = '' OR status = $1) AND account_id > $2 ORDER BY account_id LIMIT $3`, status, afterID, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list success plans: %w", err)
	}
	out, err := store.Collect(rows, scanPlan)
	if err != nil {
		return nil, fmt.Errorf("list success plans: %w", err)
	}
	return out, nil
}

// CheckGoal validates a goal: its texts, states, and that its criterion
// compiles against the snapshot (a *rule.Error, wrapped with the field,
// says where a rule or metric is wrong).
func CheckGoal(g PlanGoal) error {
	switch {
	case strings.TrimSpace(g.Title) == "":
		return invalid("title", "required")
	case len(g.Title) > 500:
		return invalid("title", "at most 500 bytes")
	case !slices.Contains(GoalStatuses, g.Status):
		return invalid("status", "%q is not one of %s", g.Status, strings.Join(GoalStatuses, ", "))
	case !slices.Contains(Sources, g.Source):
		return invalid("source", "%q is not one of %s", g.Source, strings.Join(Sources, ", "))
	case !slices.Contains(Trackings, g.Tracking):
		return invalid("tracking", "%q is not one of %s", g.Tracking, strings.Join(Trackings, ", "))
	case g.ManualPercent < 0 || g.ManualPercent > 100 || math.IsNaN(g.ManualPercent):
		return invalid("manual_percent", "%v is not between 0 and 100", g.ManualPercent)
	}
	switch g.Tracking {
	case TrackRule:
		if g.Metric != "" || g.Target != nil || g.Baseline != nil {
			return invalid("tracking", "a rule-tracked goal has no metric, baseline or target (use tracking metric)")
		}
		if _, err := rule.Compile(g.Rule, rule.Bool); err != nil {
			return &RuleError{Field: "rule", Err: err}
		}
	case TrackMetric:
		if g.Rule != "" {
			return invalid("tracking", "a metric-tracked goal has no rule (use tracking rule)")
		}
		if _, err := rule.Compile(g.Metric, rule.Number); err != nil {
			return &RuleError{Field: "metric", Err: err}
		}
		if g.Target == nil {
			return invalid("target", "required with tracking metric (the value that meets the criterion)")
		}
		if base := baseline(g); base == *g.Target {
			return invalid("target", "equals the baseline %v: progress would be undefined", base)
		}
	case TrackManual:
		if g.Rule != "" || g.Metric != "" || g.Target != nil || g.Baseline != nil {
			return invalid("tracking", "a goal tracked by hand has no rule, metric, baseline or target")
		}
	}
	return nil
}

// RuleError is a goal's rule or metric that does not compile.
type RuleError struct {
	Field string // rule or metric
	Err   error  // a *rule.Error
}

func (e *RuleError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *RuleError) Unwrap() error { return e.Err }

func baseline(g PlanGoal) float64 {
	if g.Baseline == nil {
		return 0
	}
	return *g.Baseline
}

const goalColumns = `goal_id, account_id, position, title, description, tracking, rule, metric, baseline, target,
	manual_percent, status, source, due_at, created_at, updated_at`

func scanGoal(row interface{ Scan(...any) error }) (PlanGoal, error) {
	var (
		g                propsNull
		created, updated int64
		out              PlanGoal
	)
	err := row.Scan(&out.ID, &out.AccountID, &out.Position, &out.Title, &out.Description, &out.Tracking, &out.Rule, &out.Metric,
		&g.baseline, &g.target, &out.ManualPercent, &out.Status, &out.Source, &g.due, &created, &updated)
	if err != nil {
		return out, err
	}
	out.Baseline, out.Target, out.DueAt = floatPtr(g.baseline), floatPtr(g.target), unixPtr(g.due)
	out.CreatedAt, out.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return out, nil
}

type propsNull struct {
	baseline, target sql.NullFloat64
	due              sql.NullInt64
}

// GetGoal returns one goal of an account's plan, or ErrNotFound.
func GetGoal(ctx context.Context, q store.Querier, accountID, goalID string) (PlanGoal, error) {
	g, err := scanGoal(q.QueryRowContext(ctx, `SELECT `+goalColumns+` FROM success_goals WHERE goal_id = $1 AND account_id = $2`,
		goalID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return g, fmt.Errorf("goal %s of %s: %w", goalID, accountID, ErrNotFound)
	}
	if err != nil {
		return g, fmt.Errorf("goal %s of %s: %w", goalID, accountID, err)
	}
	return g, nil
}

// Goals returns the goals of an account's plan by position.
func Goals(ctx context.Context, q store.Querier, accountID string) ([]PlanGoal, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+goalColumns+` FROM success_goals WHERE account_id = $1 ORDER BY position, goal_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("goals of %s: %w", accountID, err)
	}
	out, err := store.Collect(rows, scanGoal)
	if err != nil {
		return nil, fmt.Errorf("goals of %s: %w", accountID, err)
	}
	return out, nil
}

// nextPosition is one past the highest position in table for the account.
func nextPosition(ctx context.Context, q store.Querier, table, accountID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM `+table+` WHERE account_id = $1`, accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next position in %s of %s: %w", table, accountID, err)
	}
	return n, nil
}

func fillGoal(g *PlanGoal) {
	g.Title = strings.TrimSpace(g.Title)
	if g.Status == "" {
		g.Status = GoalDraft
	}
	if g.Source == "" {
		g.Source = SourceManual
	}
	if g.Tracking == "" {
		g.Tracking = TrackManual
	}
}

// AddGoal stores a new goal at the end of the account's plan (which must
// exist) and returns it as stored.
func AddGoal(ctx context.Context, q store.Querier, g PlanGoal, now time.Time) (PlanGoal, error) {
	fillGoal(&g)
	if err := CheckGoal(g); err != nil {
		return g, err
	}
	if _, err := GetPlan(ctx, q, g.AccountID); err != nil {
		return g, err
	}
	pos, err := nextPosition(ctx, q, "success_goals", g.AccountID)
	if err != nil {
		return g, err
	}
	if g.Position <= 0 {
		g.Position = pos
	}
	g.ID = store.NewID("g_")
	n := nowUTC(now).Unix()
	_, err = q.ExecContext(ctx, `INSERT INTO success_goals (`+goalColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
		g.ID, g.AccountID, g.Position, g.Title, g.Description, g.Tracking, g.Rule, g.Metric, floatArg(g.Baseline), floatArg(g.Target),
		g.ManualPercent, g.Status, g.Source, timeArg(g.DueAt), n)
	if err != nil {
		return g, fmt.Errorf("add goal to %s: %w", g.AccountID, err)
	}
	return GetGoal(ctx, q, g.AccountID, g.ID)
}

// UpdateGoal replaces a goal's fields (all but its id, account and
// creation time) and returns it before and after.
func UpdateGoal(ctx context.Context, q store.Querier, g PlanGoal, now time.Time) (before, after PlanGoal, _ error) {
	before, err := GetGoal(ctx, q, g.AccountID, g.ID)
	if err != nil {
		return before, before, err
	}
	fillGoal(&g)
	if g.Position <= 0 {
		g.Position = before.Position
	}
	if err := CheckGoal(g); err != nil {
		return before, before, err
	}
	_, err = q.ExecContext(ctx, `UPDATE success_goals SET position = $3, title = $4, description = $5, tracking = $6, rule = $7,
		metric = $8, baseline = $9, target = $10, manual_percent = $11, status = $12, source = $13, due_at = $14, updated_at = $15
		WHERE goal_id = $1 AND account_id = $2`,
		g.ID, g.AccountID, g.Position, g.Title, g.Description, g.Tracking, g.Rule, g.Metric, floatArg(g.Baseline), floatArg(g.Target),
		g.ManualPercent, g.Status, g.Source, timeArg(g.DueAt), nowUTC(now).Unix())
	if err != nil {
		return before, before, fmt.Errorf("update goal %s: %w", g.ID, err)
	}
	after, err = GetGoal(ctx, q, g.AccountID, g.ID)
	return before, after, err
}

// DeleteGoal removes a goal; its milestones stay, as steps of the whole plan.
func DeleteGoal(ctx context.Context, q store.Querier, accountID, goalID string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM success_goals WHERE goal_id = $1 AND account_id = $2`, goalID, accountID)
	if err != nil {
		return fmt.Errorf("delete goal %s: %w", goalID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("goal %s of %s: %w", goalID, accountID, ErrNotFound)
	}
	return nil
}

// CheckMilestone validates a milestone's fields.
func CheckMilestone(m PlanMilestone) error {
	switch {
	case strings.TrimSpace(m.Title) == "":
		return invalid("title", "required")
	case len(m.Title) > 500:
		return invalid("title", "at most 500 bytes")
	case !slices.Contains(MilestoneStatuses, m.Status):
		return invalid("status", "%q is not one of %s", m.Status, strings.Join(MilestoneStatuses, ", "))
	}
	return nil
}

const milestoneColumns = `milestone_id, account_id, goal_id, position, title, owner_email, due_at, status, completed_at,
	created_at, updated_at`

func scanMilestone(row interface{ Scan(...any) error }) (PlanMilestone, error) {
	var (
		m                PlanMilestone
		goal             sql.NullString
		due, completed   sql.NullInt64
		created, updated int64
	)
	err := row.Scan(&m.ID, &m.AccountID, &goal, &m.Position, &m.Title, &m.OwnerEmail, &due, &m.Status, &completed, &created, &updated)
	if err != nil {
		return m, err
	}
	m.GoalID, m.DueAt, m.CompletedAt = goal.String, unixPtr(due), unixPtr(completed)
	m.CreatedAt, m.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return m, nil
}

// GetMilestone returns one milestone of an account's plan, or ErrNotFound.
func GetMilestone(ctx context.Context, q store.Querier, accountID, id string) (PlanMilestone, error) {
	m, err := scanMilestone(q.QueryRowContext(ctx, `SELECT `+milestoneColumns+` FROM success_milestones
		WHERE milestone_id = $1 AND account_id = $2`, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("milestone %s of %s: %w", id, accountID, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("milestone %s of %s: %w", id, accountID, err)
	}
	return m, nil
}

// Milestones returns the milestones of an account's plan by position.
func Milestones(ctx context.Context, q store.Querier, accountID string) ([]PlanMilestone, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+milestoneColumns+` FROM success_milestones WHERE account_id = $1
		ORDER BY position, milestone_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("milestones of %s: %w", accountID, err)
	}
	out, err := store.Collect(rows, scanMilestone)
	if err != nil {
		return nil, fmt.Errorf("milestones of %s: %w", accountID, err)
	}
	return out, nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkGoalRef fails unless goalID is empty or a goal of the account.
func checkGoalRef(ctx context.Context, q store.Querier, accountID, goalID string) error {
	if goalID == "" {
		return nil
	}
	if _, err := GetGoal(ctx, q, accountID, goalID); errors.Is(err, ErrNotFound) {
		return invalid("goal_id", "%q is not a goal of this plan", goalID)
	} else if err != nil {
		return err
	}
	return nil
}

// AddMilestone stores a new milestone at the end of the account's plan
// (which must exist) and returns it as stored.
func AddMilestone(ctx context.Context, q store.Querier, m PlanMilestone, now time.Time) (PlanMilestone, error) {
	m.Title = strings.TrimSpace(m.Title)
	if m.Status == "" {
		m.Status = MilestoneOpen
	}
	if err := CheckMilestone(m); err != nil {
		return m, err
	}
	if _, err := GetPlan(ctx, q, m.AccountID); err != nil {
		return m, err
	}
	if err := checkGoalRef(ctx, q, m.AccountID, m.GoalID); err != nil {
		return m, err
	}
	pos, err := nextPosition(ctx, q, "success_milestones", m.AccountID)
	if err != nil {
		return m, err
	}
	if m.Position <= 0 {
		m.Position = pos
	}
	t := nowUTC(now)
	if m.Status != MilestoneOpen {
		m.CompletedAt = &t
	}
	m.ID = store.NewID("ms_")
	_, err = q.ExecContext(ctx, `INSERT INTO success_milestones (`+milestoneColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		m.ID, m.AccountID, nullText(m.GoalID), m.Position, m.Title, m.OwnerEmail, timeArg(m.DueAt), m.Status, timeArg(m.CompletedAt), t.Unix())
	if err != nil {
		return m, fmt.Errorf("add milestone to %s: %w", m.AccountID, err)
	}
	return GetMilestone(ctx, q, m.AccountID, m.ID)
}

// UpdateMilestone replaces a milestone's fields and returns it before and
// after. Leaving open (done or skipped) records when; reopening clears it.
func UpdateMilestone(ctx context.Context, q store.Querier, m PlanMilestone, now time.Time) (before, after PlanMilestone, _ error) {
	before, err := GetMilestone(ctx, q, m.AccountID, m.ID)
	if err != nil {
		return before, before, err
	}
	m.Title = strings.TrimSpace(m.Title)
	if m.Position <= 0 {
		m.Position = before.Position
	}
	if err := CheckMilestone(m); err != nil {
		return before, before, err
	}
	if err := checkGoalRef(ctx, q, m.AccountID, m.GoalID); err != nil {
		return before, before, err
	}
	t := nowUTC(now)
	switch {
	case m.Status == MilestoneOpen:
		m.CompletedAt = nil
	case before.Status == m.Status:
		m.CompletedAt = before.CompletedAt
	default:
		m.CompletedAt = &t
	}
	_, err = q.ExecContext(ctx, `UPDATE success_milestones SET goal_id = $3, position = $4, title = $5, owner_email = $6, due_at = $7,
		status = $8, completed_at = $9, updated_at = $10 WHERE milestone_id = $1 AND account_id = $2`,
		m.ID, m.AccountID, nullText(m.GoalID), m.Position, m.Title, m.OwnerEmail, timeArg(m.DueAt), m.Status, timeArg(m.CompletedAt), t.Unix())
	if err != nil {
		return before, before, fmt.Errorf("update milestone %s: %w", m.ID, err)
	}
	after, err = GetMilestone(ctx, q, m.AccountID, m.ID)
	return before, after, err
}

// DeleteMilestone removes a milestone.
func DeleteMilestone(ctx context.Context, q store.Querier, accountID, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM success_milestones WHERE milestone_id = $1 AND account_id = $2`, id, accountID)
	if err != nil {
		return fmt.Errorf("delete milestone %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("milestone %s of %s: %w", id, accountID, ErrNotFound)
	}
	return nil
}
