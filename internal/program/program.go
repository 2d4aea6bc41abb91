// Package program owns CS programs (DESIGN.md C11, the five-step loop of
// DOMAIN.md): a goal, a hypothesis ("accounts that adopt reports churn
// less"), an action (seminar, video, email, call, playbook), its target
// segment and participants, and the outcome measures whose results compare
// the participants with a control group, so the team keeps what works and
// drops what does not.
//
// # Results
//
// Every measure is taken in two windows around the program's start date:
// the pre-period [start − pre_days, start) and the post-period [start,
// start + post_days). The control group is derived when the results are
// computed, never stored:
//
//   - when the program names a playbook, its random holdout (the accounts
//     the playbook drew into its control group and did not act on);
//   - otherwise a matched comparison: for each participant, the nearest
//     non-participant customer of the target segment on pre-period
//     behaviour (see [Match]), one to one, without replacement.
//
// Usage and health measures are compared by difference-in-differences of
// means (participants' post − pre minus the control's post − pre), with
// the analytic standard error of the difference of the two groups' mean
// changes; churn and expansion by a risk difference with Newcombe's hybrid
// score interval. Each result carries a plain-language verdict.
package program

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Actions a program can take.
const (
	ActionSeminar  = "seminar"
	ActionVideo    = "video"
	ActionEmail    = "email"
	ActionCall     = "call"
	ActionPlaybook = "playbook"
	ActionOther    = "other"
)

// Actions lists the actions.
var Actions = []string{ActionSeminar, ActionVideo, ActionEmail, ActionCall, ActionPlaybook, ActionOther}

// Measure kinds.
const (
	// MeasureAdoption is the share of accounts with at least one event of
	// Feature in the window.
	MeasureAdoption = "adoption"
	// MeasureEvents is the events of Feature per account per 30 days.
	MeasureEvents = "events"
	// MeasureHealth is the health score on the window's last day.
	MeasureHealth = "health"
	// MeasureChurn is the share of accounts paying at the start that are no
	// longer paying Days days later.
	MeasureChurn = "churn"
	// MeasureExpansion is the share of accounts whose ARR at the end of the
	// post-period is above their ARR at the start.
	MeasureExpansion = "expansion"
)

// MeasureKinds lists the measure kinds.
var MeasureKinds = []string{MeasureAdoption, MeasureEvents, MeasureHealth, MeasureChurn, MeasureExpansion}

// Participant sources.
const (
	SourceImport   = "import"
	SourceHand     = "hand"
	SourcePlaybook = "playbook"
)

// Sources lists the participant sources.
var Sources = []string{SourceImport, SourceHand, SourcePlaybook}

// Errors callers tell apart.
var (
	ErrNotFound = errors.New("program not found")
	ErrExists   = errors.New("a program with this id already exists")
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

// OutcomeMeasure is one outcome measure of a program.
type OutcomeMeasure struct {
	Kind    string `json:"kind" enum:"adoption,events,health,churn,expansion" doc:"adoption: share of accounts using the feature in the window; events: the feature's events per account per 30 days; health: health score at the window's end; churn: share no longer paying days after the start; expansion: share whose ARR rose over the post-period."`
	Feature string `json:"feature,omitempty" maxLength:"255" doc:"The usage event, for adoption and events."`
	Days    int    `json:"days,omitempty" minimum:"0" maximum:"3650" doc:"For churn: within this many days of the start (default the post-period)."`
}

// Label names the measure in plain language ("reports adoption", "churn within 90 days").
func (m OutcomeMeasure) Label() string {
	switch m.Kind {
	case MeasureAdoption:
		return m.Feature + " adoption"
	case MeasureEvents:
		return m.Feature + " events per account per 30 days"
	case MeasureHealth:
		return "health score"
	case MeasureChurn:
		return fmt.Sprintf("churn within %d days", m.Days)
	case MeasureExpansion:
		return "expansion"
	}
	return m.Kind
}

// Program is a CS program.
type Program struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Goal       string           `json:"goal"`
	Hypothesis string           `json:"hypothesis"`
	Action     string           `json:"action"`
	SegmentID  string           `json:"segment_id,omitempty"`
	PlaybookID string           `json:"playbook_id,omitempty"`
	Start      time.Time        `json:"start_date" doc:"The start date (00:00 UTC): the pre- and post-periods are anchored on it."`
	PreDays    int              `json:"pre_days"`
	PostDays   int              `json:"post_days"`
	Measures   []OutcomeMeasure `json:"measures"`
	CreatedBy  string           `json:"created_by,omitempty"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	// Participants is the number of participants (filled by Get and List).
	Participants int `json:"participants"`
}

// Default windows.
const (
	DefaultPreDays  = 28
	DefaultPostDays = 90
)

// Normalize fills defaults: the windows, and a churn measure's days from
// the post-period.
func (p *Program) Normalize() {
	p.ID, p.Name = strings.TrimSpace(p.ID), strings.TrimSpace(p.Name)
	p.Start = p.Start.UTC().Truncate(24 * time.Hour)
	if p.PreDays == 0 {
		p.PreDays = DefaultPreDays
	}
	if p.PostDays == 0 {
		p.PostDays = DefaultPostDays
	}
	if p.Measures == nil {
		p.Measures = []OutcomeMeasure{}
	}
	for i := range p.Measures {
		m := &p.Measures[i]
		m.Feature = strings.TrimSpace(m.Feature)
		if m.Kind == MeasureChurn && m.Days == 0 {
			m.Days = p.PostDays
		}
	}
}

// Validate checks a normalized program; the error names the first bad field.
func Validate(p Program) error {
	switch {
	case p.ID == "":
		return invalid("id", "required")
	case len(p.ID) > 100 || strings.ContainsAny(p.ID, "/?#% "):
		return invalid("id", "at most 100 bytes, without spaces or any of / ? # %%")
	case p.Name == "":
		return invalid("name", "required")
	case len(p.Name) > 200:
		return invalid("name", "at most 200 bytes")
	case len(p.Goal) > 5000:
		return invalid("goal", "at most 5000 bytes")
	case len(p.Hypothesis) > 5000:
		return invalid("hypothesis", "at most 5000 bytes")
	case !slices.Contains(Actions, p.Action):
		return invalid("action", "%q is not one of %s", p.Action, strings.Join(Actions, ", "))
	case p.Start.IsZero():
		return invalid("start_date", "required")
	case p.PreDays < 1 || p.PreDays > 365:
		return invalid("pre_days", "%d is not between 1 and 365", p.PreDays)
	case p.PostDays < 1 || p.PostDays > 730:
		return invalid("post_days", "%d is not between 1 and 730", p.PostDays)
	case len(p.Measures) == 0:
		return invalid("measures", "at least one outcome measure (adoption, events, health, churn or expansion)")
	case len(p.Measures) > 20:
		return invalid("measures", "at most 20 measures")
	}
	for i, m := range p.Measures {
		field := fmt.Sprintf("measures[%d]", i)
		switch {
		case !slices.Contains(MeasureKinds, m.Kind):
			return invalid(field+".kind", "%q is not one of %s", m.Kind, strings.Join(MeasureKinds, ", "))
		case (m.Kind == MeasureAdoption || m.Kind == MeasureEvents) && m.Feature == "":
			return invalid(field+".feature", "required for %s: the usage event to measure", m.Kind)
		case m.Kind != MeasureAdoption && m.Kind != MeasureEvents && m.Feature != "":
			return invalid(field+".feature", "only adoption and events measure a feature")
		case m.Kind != MeasureChurn && m.Days != 0:
			return invalid(field+".days", "only churn has days (the other measures use the post-period)")
		case m.Days < 0 || m.Days > 3650:
			return invalid(field+".days", "%d is not between 1 and 3650", m.Days)
		}
	}
	return nil
}

const columns = `program_id, name, goal, hypothesis, action, segment_id, playbook_id, start_day, pre_days, post_days,
	measures, created_by, created_at, updated_at`

func scan(row interface{ Scan(...any) error }) (Program, error) {
	var (
		p                      Program
		measures               string
		startDay, created, upd int64
	)
	if err := row.Scan(&p.ID, &p.Name, &p.Goal, &p.Hypothesis, &p.Action, &p.SegmentID, &p.PlaybookID, &startDay,
		&p.PreDays, &p.PostDays, &measures, &p.CreatedBy, &created, &upd); err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(measures), &p.Measures); err != nil {
		return p, fmt.Errorf("measures of program %s: %w", p.ID, err)
	}
	p.Start = time.Unix(startDay*86400, 0).UTC()
	p.CreatedAt, p.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(upd, 0).UTC()
	return p, nil
}

// Get returns one program with its participant count.
func Get(ctx context.Context, q store.Querier, id string) (Program, error) {
	p, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM programs WHERE program_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("program %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("get program %s: %w", id, err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM program_participants WHERE program_id = $1`, id).Scan(&p.Participants); err != nil {
		return p, fmt.Errorf("get program %s: %w", id, err)
	}
	return p, nil
}

// List returns every program, newest start first, with participant counts.
func List(ctx context.Context, q store.Querier) ([]Program, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM programs ORDER BY start_day DESC, program_id`)
	if err != nil {
		return nil, fmt.Errorf("list programs: %w", err)
	}
	list, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list programs: %w", err)
	}
	counts := map[string]int{}
	rows, err = q.QueryContext(ctx, `SELECT program_id, COUNT(*) FROM program_participants GROUP BY program_id`)
	if err != nil {
		return nil, fmt.Errorf("list programs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("list programs: %w", err)
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list programs: %w", err)
	}
	for i := range list {
		list[i].Participants = counts[list[i].ID]
	}
	return list, nil
}

// Create stores a new program (normalized and validated).
func Create(ctx context.Context, q store.Querier, p Program, now time.Time) (Program, error) {
	p.Normalize()
	if err := Validate(p); err != nil {
		return p, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM programs WHERE program_id = $1`, p.ID).Scan(&n); err != nil {
		return p, fmt.Errorf("create program %s: %w", p.ID, err)
	}
	if n > 0 {
		return p, fmt.Errorf("program %q: %w", p.ID, ErrExists)
	}
	measures, err := json.Marshal(p.Measures)
	if err != nil {
		return p, fmt.Errorf("create program %s: %w", p.ID, err)
	}
	ts := now.UTC().Unix()
	if _, err := q.ExecContext(ctx, `INSERT INTO programs (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		p.ID, p.Name, p.Goal, p.Hypothesis, p.Action, p.SegmentID, p.PlaybookID, store.Day(p.Start.Unix()), p.PreDays, p.PostDays,
		string(measures), p.CreatedBy, ts); err != nil {
		return p, fmt.Errorf("create program %s: %w", p.ID, err)
	}
	return Get(ctx, q, p.ID)
}

// Update replaces a program's definition (not its participants) and returns it.
func Update(ctx context.Context, q store.Querier, p Program, now time.Time) (Program, error) {
	p.Normalize()
	if err := Validate(p); err != nil {
		return p, err
	}
	measures, err := json.Marshal(p.Measures)
	if err != nil {
		return p, fmt.Errorf("update program %s: %w", p.ID, err)
	}
	res, err := q.ExecContext(ctx, `UPDATE programs SET name = $2, goal = $3, hypothesis = $4, action = $5, segment_id = $6,
		playbook_id = $7, start_day = $8, pre_days = $9, post_days = $10, measures = $11, updated_at = $12 WHERE program_id = $1`,
		p.ID, p.Name, p.Goal, p.Hypothesis, p.Action, p.SegmentID, p.PlaybookID, store.Day(p.Start.Unix()), p.PreDays, p.PostDays,
		string(measures), now.UTC().Unix())
	if err != nil {
		return p, fmt.Errorf("update program %s: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return p, fmt.Errorf("program %q: %w", p.ID, ErrNotFound)
	}
	return Get(ctx, q, p.ID)
}

// Delete removes a program and its participants.
func Delete(ctx context.Context, q store.Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM programs WHERE program_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete program %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("program %q: %w", id, ErrNotFound)
	}
	return nil
}
