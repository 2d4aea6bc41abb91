// Package playbook runs playbooks: a trigger (a rule turning true, or an
// event such as the health band turning red, a renewal coming up, a
// detractor NPS answer or a failed payment), an optional filter, and
// actions (a task for the owner, an email, a signed webhook, a Slack
// message). It is the last stage of the recompute pipeline ([Stage]): for
// each batch of account snapshots it decides which accounts fire which
// playbook, de-duplicates against open tasks and cooldowns, draws the
// holdout group (recorded, not acted on, so the playbook's effect can be
// measured), and writes tasks, enrollments and outbox deliveries.
package playbook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/task"
)

// Trigger types.
const (
	TriggerRule              = "rule"
	TriggerHealthBand        = "health_band"
	TriggerRenewalInDays     = "renewal_in_days"
	TriggerNPSDetractor      = "nps_detractor"
	TriggerUsageDrop         = "usage_drop"
	TriggerOnboardingOverdue = "onboarding_overdue"
	TriggerPaymentFailed     = "payment_failed"
)

// TriggerTypes lists the trigger types.
var TriggerTypes = []string{TriggerRule, TriggerHealthBand, TriggerRenewalInDays, TriggerNPSDetractor, TriggerUsageDrop,
	TriggerOnboardingOverdue, TriggerPaymentFailed}

// Action types.
const (
	ActionTask    = "task"
	ActionEmail   = "email"
	ActionWebhook = "webhook"
	ActionSlack   = "slack"
)

// ActionTypes lists the action types.
var ActionTypes = []string{ActionTask, ActionEmail, ActionWebhook, ActionSlack}

// Mask replaces secrets (webhook secrets, Slack URLs) in what the API shows;
// saving a playbook with Mask in their place keeps the stored secret.
const Mask = "********"

// ErrNotFound is returned for a playbook that does not exist.
var ErrNotFound = errors.New("playbook not found")

// Playbook is one playbook.
type Playbook struct {
	ID           string    `json:"playbook_id"`
	Name         string    `json:"name"`
	Enabled      bool      `json:"enabled"`
	Trigger      Trigger   `json:"trigger"`
	Filter       string    `json:"filter,omitempty"`
	Actions      []Action  `json:"actions"`
	CooldownDays int       `json:"cooldown_days"`
	HoldoutShare float64   `json:"holdout_share"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Trigger is when a playbook fires for an account.
type Trigger struct {
	Type string `json:"type" enum:"rule,health_band,renewal_in_days,nps_detractor,usage_drop,onboarding_overdue,payment_failed"`
	// Condition is the rule of a rule trigger: it fires when it turns true.
	Condition string `json:"condition,omitempty" doc:"rule: the condition, over the snapshot's fields; fires when it turns true."`
	// Band is the band a health_band trigger waits for (red, yellow, green).
	Band string `json:"band,omitempty" enum:"red,yellow,green" doc:"health_band: fires when the band changes to this one."`
	// Days is the window of renewal_in_days.
	Days int `json:"days,omitempty" minimum:"0" doc:"renewal_in_days: fires when days_to_renewal comes within this many days."`
	// Percent is the drop of usage_drop: 30 fires at usage_trend ≤ −0.30.
	Percent float64 `json:"percent,omitempty" minimum:"0" maximum:"100" doc:"usage_drop: fires when usage_trend falls to −percent/100 or below."`
}

// Action is what a firing does.
type Action struct {
	Type string `json:"type" enum:"task,email,webhook,slack"`
	// task
	Title            string `json:"title,omitempty" doc:"task: the title template."`
	Description      string `json:"description,omitempty" doc:"task: the description template."`
	DueInDays        int    `json:"due_in_days,omitempty" minimum:"0" doc:"task: due this many days after firing; 0: no due date."`
	Priority         string `json:"priority,omitempty" enum:"low,normal,high,urgent" doc:"task: default normal."`
	Assignee         string `json:"assignee,omitempty" doc:"task: a fixed assignee instead of the account's owner."`
	FallbackAssignee string `json:"fallback_assignee,omitempty" doc:"task: the assignee when the account has no owner (default: the playbook_fallback_assignee setting; else unassigned)."`
	// email
	To          string `json:"to,omitempty" doc:"email: owner, contacts, or an email address."`
	ContactRole string `json:"contact_role,omitempty" doc:"email to contacts: only contacts with this role (empty: every contact with an email)."`
	Subject     string `json:"subject,omitempty" doc:"email: the subject template."`
	Body        string `json:"body,omitempty" doc:"email: the text template."`
	// webhook, slack
	URL    string `json:"url,omitempty" doc:"webhook, slack: where to POST (https or http). A Slack URL is shown masked."`
	Secret string `json:"secret,omitempty" doc:"webhook: the HMAC-SHA256 key of the Kizuna-Signature header. Shown masked."`
	Text   string `json:"text,omitempty" doc:"slack: the message template."`
}

// Problem is one reason a playbook cannot be saved: the field (JSON path,
// "trigger.condition", "actions[1].body") and, for rules and templates,
// the position in that field's text.
type Problem struct {
	Field   string `json:"field"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
	Snippet string `json:"snippet,omitempty"`
}

func (p Problem) Error() string {
	switch {
	case p.Column > 0:
		return fmt.Sprintf("%s: line %d, column %d: %s", p.Field, p.Line, p.Column, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s: line %d: %s", p.Field, p.Line, p.Message)
	}
	return p.Field + ": " + p.Message
}

// ValidationError is a playbook that does not validate.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "invalid playbook: " + strings.Join(msgs, "; ")
}

// Validate checks p, normalising it (trimmed text, default priority), and
// returns its problems; none means it can be saved.
func Validate(p *Playbook) []Problem {
	_, probs := compile(p)
	return probs
}

// compiled is a playbook ready to run.
type compiled struct {
	*Playbook
	condition *rule.Rule // rule triggers
	filter    *rule.Rule
	templates []actionTemplates
}

func compile(p *Playbook) (*compiled, []Problem) {
	var probs []Problem
	fail := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	ruleAt := func(field, src string) *rule.Rule {
		r, err := rule.Compile(src, rule.Bool)
		var re *rule.Error
		if errors.As(err, &re) {
			probs = append(probs, Problem{Field: field, Line: re.Line, Column: re.Column, Message: re.Message, Snippet: re.Snippet})
			return nil
		}
		if err != nil {
			fail(field, "%v", err)
		}
		return r
	}
	c := &compiled{Playbook: p}
	p.ID, p.Name = strings.TrimSpace(p.ID), strings.TrimSpace(p.Name)
	if p.ID == "" {
		fail("playbook_id", "required")
	} else if len(p.ID) > 100 || strings.ContainsAny(p.ID, "/?#% ") {
		fail("playbook_id", "at most 100 characters, without spaces, /, ?, # or %%")
	}
	if p.Name == "" {
		fail("name", "required")
	}
	if p.CooldownDays < 0 {
		fail("cooldown_days", "must not be negative")
	}
	if p.HoldoutShare < 0 || p.HoldoutShare > 1 {
		fail("holdout_share", "%v is not between 0 and 1 (0.1 keeps 10%% of the firings as a control group)", p.HoldoutShare)
	}
	t := &p.Trigger
	switch t.Type {
	case TriggerRule:
		c.condition = ruleAt("trigger.condition", t.Condition)
	case TriggerHealthBand:
		if !slices.Contains([]string{"red", "yellow", "green"}, t.Band) {
			fail("trigger.band", "%q: want red, yellow or green", t.Band)
		}
	case TriggerRenewalInDays:
		if t.Days <= 0 {
			fail("trigger.days", "required: a number of days above 0")
		}
	case TriggerUsageDrop:
		if t.Percent <= 0 || t.Percent > 100 {
			fail("trigger.percent", "%v: want a drop in percent, above 0 and at most 100", t.Percent)
		}
	case TriggerNPSDetractor, TriggerOnboardingOverdue, TriggerPaymentFailed:
	default:
		fail("trigger.type", "%q: want one of %s", t.Type, strings.Join(TriggerTypes, ", "))
	}
	if t.Type != TriggerRule && t.Condition != "" {
		fail("trigger.condition", "only a rule trigger has a condition (use filter to narrow this trigger)")
	}
	if strings.TrimSpace(p.Filter) != "" {
		c.filter = ruleAt("filter", p.Filter)
	}
	if len(p.Actions) == 0 {
		fail("actions", "at least one action is required")
	}
	for i := range p.Actions {
		a := &p.Actions[i]
		at := fmt.Sprintf("actions[%d].", i)
		var tpl actionTemplates
		tmpl := func(field, src string, required bool) *textTemplate {
			if required && strings.TrimSpace(src) == "" {
				fail(at+field, "required")
				return nil
			}
			tt, prob := parseTemplate(at+field, src)
			if prob != nil {
				probs = append(probs, *prob)
			}
			return tt
		}
		switch a.Type {
		case ActionTask:
			tpl.title = tmpl("title", a.Title, true)
			tpl.description = tmpl("description", a.Description, false)
			if a.Priority == "" {
				a.Priority = "normal"
			}
			if !slices.Contains(task.Priorities, a.Priority) {
				fail(at+"priority", "%q: want one of %s", a.Priority, strings.Join(task.Priorities, ", "))
			}
			if a.DueInDays < 0 {
				fail(at+"due_in_days", "must not be negative")
			}
			for field, v := range map[string]string{"assignee": a.Assignee, "fallback_assignee": a.FallbackAssignee} {
				if v != "" && !isAddress(v) {
					fail(at+field, "%q is not an email address", v)
				}
			}
		case ActionEmail:
			tpl.subject = tmpl("subject", a.Subject, true)
			tpl.body = tmpl("body", a.Body, true)
			switch {
			case a.To == "owner", a.To == "contacts":
			case a.To == "":
				fail(at+"to", "required: owner, contacts, or an email address")
			case !isAddress(a.To):
				fail(at+"to", "%q: want owner, contacts, or an email address", a.To)
			}
			if a.ContactRole != "" && a.To != "contacts" {
				fail(at+"contact_role", "only with to: contacts")
			}
		case ActionWebhook, ActionSlack:
			if u, err := url.Parse(a.URL); a.URL != Mask && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				fail(at+"url", "want an http or https URL")
			}
			if a.Type == ActionWebhook && strings.TrimSpace(a.Secret) == "" {
				fail(at+"secret", "required: the receiver checks the Kizuna-Signature header with it")
			}
			if a.Type == ActionSlack {
				tpl.text = tmpl("text", a.Text, true)
			}
		default:
			fail(at+"type", "%q: want one of %s", a.Type, strings.Join(ActionTypes, ", "))
		}
		c.templates = append(c.templates, tpl)
	}
	return c, probs
}

func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// definition is what the definition column holds.
type definition struct {
	Trigger Trigger  `json:"trigger"`
	Filter  string   `json:"filter,omitempty"`
	Actions []Action `json:"actions"`
}

const columns = `playbook_id, name, enabled, definition, cooldown_days, holdout_share, evaluated_at, created_at, updated_at`

func scan(row interface{ Scan(...any) error }) (Playbook, int64, error) {
	var (
		p                          Playbook
		enabled                    int64
		def                        string
		evaluated, created, update int64
	)
	if err := row.Scan(&p.ID, &p.Name, &enabled, &def, &p.CooldownDays, &p.HoldoutShare, &evaluated, &created, &update); err != nil {
		return p, 0, err
	}
	var d definition
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return p, 0, fmt.Errorf("playbook %s: stored definition: %w", p.ID, err)
	}
	p.Enabled, p.Trigger, p.Filter, p.Actions = enabled != 0, d.Trigger, d.Filter, d.Actions
	p.CreatedAt, p.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(update, 0).UTC()
	return p, evaluated, nil
}

// Get returns one playbook, secrets included (mask them for display).
func Get(ctx context.Context, q store.Querier, id string) (Playbook, error) {
	p, _, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM playbooks WHERE playbook_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("get playbook %s: %w", id, err)
	}
	return p, nil
}

// List returns every playbook, by id.
func List(ctx context.Context, q store.Querier) ([]Playbook, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM playbooks ORDER BY playbook_id`)
	if err != nil {
		return nil, fmt.Errorf("list playbooks: %w", err)
	}
	out, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (Playbook, error) {
		p, _, err := scan(r)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list playbooks: %w", err)
	}
	return out, nil
}

// Save validates p and creates or replaces it; secrets sent as [Mask] keep
// their stored value. A changed trigger forgets the accounts for which the
// old one held, so the new one fires on its own transitions. It returns the
// stored playbook before (nil when new) and after; a *ValidationError
// lists the problems.
func Save(ctx context.Context, q store.Querier, p Playbook, now time.Time) (before *Playbook, after Playbook, _ error) {
	old, err := Get(ctx, q, strings.TrimSpace(p.ID))
	switch {
	case err == nil:
		before = &old
		keepSecrets(&p, old)
	case !errors.Is(err, ErrNotFound):
		return nil, after, err
	}
	probs := Validate(&p)
	for i, a := range p.Actions {
		if a.Secret == Mask || a.URL == Mask {
			probs = append(probs, Problem{Field: fmt.Sprintf("actions[%d]", i), Message: "a masked secret or URL with no stored one to keep: send the real value"})
		}
	}
	if len(probs) > 0 {
		return before, after, &ValidationError{probs}
	}
	def, err := json.Marshal(definition{Trigger: p.Trigger, Filter: strings.TrimSpace(p.Filter), Actions: p.Actions})
	if err != nil {
		return before, after, fmt.Errorf("save playbook %s: %w", p.ID, err)
	}
	enabled := 0
	if p.Enabled {
		enabled = 1
	}
	_, err = q.ExecContext(ctx, `INSERT INTO playbooks (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7)
		ON CONFLICT (playbook_id) DO UPDATE SET name = excluded.name, enabled = excluded.enabled,
			definition = excluded.definition, cooldown_days = excluded.cooldown_days,
			holdout_share = excluded.holdout_share, updated_at = excluded.updated_at`,
		p.ID, p.Name, enabled, string(def), p.CooldownDays, p.HoldoutShare, now.Unix())
	if err != nil {
		return before, after, fmt.Errorf("save playbook %s: %w", p.ID, err)
	}
	if before != nil && before.Trigger != p.Trigger {
		if _, err := q.ExecContext(ctx, `DELETE FROM playbook_states WHERE playbook_id = $1`, p.ID); err != nil {
			return before, after, fmt.Errorf("save playbook %s: reset its trigger states: %w", p.ID, err)
		}
	}
	after, err = Get(ctx, q, p.ID)
	return before, after, err
}

// keepSecrets puts the stored secrets back where p carries the mask: the
// k-th action of a type takes the secret of the stored k-th action of that
// type, so reordering or adding actions of other types keeps them.
func keepSecrets(p *Playbook, old Playbook) {
	seen := map[string]int{}
	for i := range p.Actions {
		a := &p.Actions[i]
		k := seen[a.Type]
		seen[a.Type]++
		var match *Action
		for j, n := 0, 0; j < len(old.Actions); j++ {
			if old.Actions[j].Type == a.Type {
				if n == k {
					match = &old.Actions[j]
					break
				}
				n++
			}
		}
		if match == nil {
			continue
		}
		if a.Secret == Mask {
			a.Secret = match.Secret
		}
		if a.URL == Mask {
			a.URL = match.URL
		}
	}
}

// Masked returns p with its secrets replaced by [Mask], for the API and CLI.
func (p Playbook) Masked() Playbook {
	p.Actions = slices.Clone(p.Actions)
	for i := range p.Actions {
		a := &p.Actions[i]
		if a.Secret != "" {
			a.Secret = Mask
		}
		if a.Type == ActionSlack && a.URL != "" {
			a.URL = Mask
		}
	}
	return p
}

// Delete removes a playbook with its states and enrollments; the tasks it
// created stay (they are the CSMs' work).
func Delete(ctx context.Context, q store.Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM playbooks WHERE playbook_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete playbook %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Enrollment is one firing of a playbook for an account.
type Enrollment struct {
	ID         string    `json:"enrollment_id"`
	PlaybookID string    `json:"playbook_id"`
	AccountID  string    `json:"account_id"`
	FiredAt    time.Time `json:"fired_at"`
	Holdout    bool      `json:"holdout" doc:"In the control group: recorded, not acted on."`
	TaskID     string    `json:"task_id,omitempty"`
	Reason     string    `json:"reason"`
}

// EnrollmentFilter selects enrollments. Holdout nil: both groups.
type EnrollmentFilter struct {
	PlaybookID string
	AccountID  string
	Holdout    *bool
	// The page, newest first, after the cursor (fired_at unix seconds and id).
	AfterKey any
	AfterID  string
	Limit    int
}

// Enrollments returns a page of enrollments, newest first.
func Enrollments(ctx context.Context, q store.Querier, f EnrollmentFilter) ([]Enrollment, error) {
	var c store.Conditions
	if f.PlaybookID != "" {
		c.Add("playbook_id = $%d", f.PlaybookID)
	}
	if f.AccountID != "" {
		c.Add("account_id = $%d", f.AccountID)
	}
	if f.Holdout != nil {
		v := 0
		if *f.Holdout {
			v = 1
		}
		c.Add("holdout = $%d", v)
	}
	page, args := c.Page("fired_at", "enrollment_id", true, f.AfterKey, f.AfterID, f.Limit)
	rows, err := q.QueryContext(ctx, `SELECT enrollment_id, playbook_id, account_id, fired_at, holdout, task_id, reason
		FROM enrollments`+page, args...)
	if err != nil {
		return nil, fmt.Errorf("list enrollments: %w", err)
	}
	out, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (Enrollment, error) {
		var (
			e       Enrollment
			fired   int64
			holdout int64
			taskID  sql.NullString
		)
		err := r.Scan(&e.ID, &e.PlaybookID, &e.AccountID, &fired, &holdout, &taskID, &e.Reason)
		e.FiredAt, e.Holdout, e.TaskID = time.Unix(fired, 0).UTC(), holdout != 0, taskID.String
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list enrollments: %w", err)
	}
	return out, nil
}

// ParseJSON reads a playbook file (the API's JSON): enabled defaults to
// true, unknown fields are refused, and errors name the line.
func ParseJSON(name string, data []byte) (Playbook, error) {
	p := Playbook{Enabled: true}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(data, se.Offset)
			return p, fmt.Errorf("%s:%d:%d: %v", name, line, col, err)
		case errors.As(err, &te):
			line, col := lineCol(data, te.Offset)
			return p, fmt.Errorf("%s:%d:%d: %s: want %s", name, line, col, te.Field, te.Type)
		}
		return p, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

func lineCol(data []byte, offset int64) (int, int) {
	line, col := 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
