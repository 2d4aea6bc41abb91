// Package task holds the CSMs' tasks: follow-ups created by hand or by a
// playbook, their states and outcomes, and each CSM's work queue.
//
// A task is open, then in_progress, then done or cancelled. done needs an
// outcome from a fixed list (not free text) so that playbooks and programs
// can count what their tasks achieved; done and cancelled are final.
package task

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// States of a task.
const (
	Open       = "open"
	InProgress = "in_progress"
	Done       = "done"
	Cancelled  = "cancelled"
)

// Statuses lists the states in their order.
var Statuses = []string{Open, InProgress, Done, Cancelled}

// Outcomes are what a finished task may record. done needs one; cancelled
// may have one (not_needed, usually).
var Outcomes = []string{"success", "no_response", "not_needed", "failed"}

// Priorities of a task, lowest first.
var Priorities = []string{"low", "normal", "high", "urgent"}

// ErrNotFound is returned for a task that does not exist.
var ErrNotFound = errors.New("task not found")

// Task is one task.
type Task struct {
	ID          string     `json:"task_id"`
	AccountID   string     `json:"account_id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Assignee    string     `json:"assignee,omitempty" doc:"The assignee's email; absent when unassigned."`
	Status      string     `json:"status" enum:"open,in_progress,done,cancelled"`
	Priority    string     `json:"priority" enum:"low,normal,high,urgent"`
	DueAt       *time.Time `json:"due_at,omitempty"`
	Outcome     string     `json:"outcome,omitempty" doc:"success, no_response, not_needed or failed; set when done (required) or cancelled."`
	PlaybookID  string     `json:"playbook_id,omitempty" doc:"The playbook that created it; absent for tasks made by hand."`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Overdue reports whether t is still to do and past its due date at now.
func (t Task) Overdue(now time.Time) bool {
	return (t.Status == Open || t.Status == InProgress) && t.DueAt != nil && t.DueAt.Before(now)
}

// Check validates the fields of a new or changed task: the error names the field.
func Check(t Task) error {
	switch {
	case strings.TrimSpace(t.AccountID) == "":
		return errors.New("account_id: required")
	case strings.TrimSpace(t.Title) == "":
		return errors.New("title: required")
	case len(t.Title) > 500:
		return errors.New("title: at most 500 bytes")
	case !slices.Contains(Statuses, t.Status):
		return fmt.Errorf("status: %q is not one of %s", t.Status, strings.Join(Statuses, ", "))
	case !slices.Contains(Priorities, t.Priority):
		return fmt.Errorf("priority: %q is not one of %s", t.Priority, strings.Join(Priorities, ", "))
	case t.Outcome != "" && !slices.Contains(Outcomes, t.Outcome):
		return fmt.Errorf("outcome: %q is not one of %s", t.Outcome, strings.Join(Outcomes, ", "))
	case t.Status == Done && t.Outcome == "":
		return fmt.Errorf("outcome: required when the task is done (one of %s)", strings.Join(Outcomes, ", "))
	case t.Outcome != "" && t.Status != Done && t.Status != Cancelled:
		return errors.New("outcome: only a done or cancelled task has an outcome")
	}
	return nil
}

// CanMove reports whether a task may go from state from to state to.
// Staying in a state is always allowed.
func CanMove(from, to string) error {
	if from == to {
		return nil
	}
	if from == Done || from == Cancelled {
		return fmt.Errorf("status: a %s task cannot become %s (done and cancelled are final; create a new task)", from, to)
	}
	if !slices.Contains(Statuses, to) {
		return fmt.Errorf("status: %q is not one of %s", to, strings.Join(Statuses, ", "))
	}
	return nil
}

const columns = `task_id, account_id, title, description, assignee, status, priority, due_at, outcome, playbook_id,
	created_by, created_at, updated_at, completed_at`

func scan(row interface{ Scan(...any) error }) (Task, error) {
	var (
		t                   Task
		assignee, playbook  sql.NullString
		due, completed      sql.NullInt64
		createdAt, updateAt int64
	)
	err := row.Scan(&t.ID, &t.AccountID, &t.Title, &t.Description, &assignee, &t.Status, &t.Priority, &due, &t.Outcome,
		&playbook, &t.CreatedBy, &createdAt, &updateAt, &completed)
	if err != nil {
		return t, err
	}
	t.Assignee, t.PlaybookID = assignee.String, playbook.String
	t.CreatedAt, t.UpdatedAt = time.Unix(createdAt, 0).UTC(), time.Unix(updateAt, 0).UTC()
	t.DueAt, t.CompletedAt = unixPtr(due), unixPtr(completed)
	return t, nil
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

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Get returns one task.
func Get(ctx context.Context, q store.Querier, id string) (Task, error) {
	t, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM tasks WHERE task_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("get task %s: %w", id, err)
	}
	return t, nil
}

// Insert stores new tasks in multi-row INSERTs (the playbook stage creates
// many at once). Missing ids, states, priorities and times are filled in.
func Insert(ctx context.Context, q store.Querier, tasks []Task) error {
	const per = 14
	// Sized when SQLite looked each $N up by name, quadratic in a
	// statement's variables; store now numbers them positionally.
	const chunk = 600 / per
	now := time.Now().UTC().Truncate(time.Second)
	for start := 0; start < len(tasks); start += chunk {
		part := tasks[start:min(start+chunk, len(tasks))]
		var b strings.Builder
		b.WriteString(`INSERT INTO tasks (` + columns + `) VALUES `)
		args := make([]any, 0, len(part)*per)
		for i := range part {
			t := &part[i]
			fill(t, now)
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.Placeholders(len(args)+1, per) + ")")
			args = append(args, t.ID, t.AccountID, t.Title, t.Description, nullText(t.Assignee), t.Status, t.Priority,
				timeArg(t.DueAt), t.Outcome, nullText(t.PlaybookID), t.CreatedBy, t.CreatedAt.Unix(), t.UpdatedAt.Unix(),
				timeArg(t.CompletedAt))
		}
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert %d tasks: %w", len(part), err)
		}
	}
	return nil
}

func fill(t *Task, now time.Time) {
	if t.ID == "" {
		t.ID = store.NewID("t_")
	}
	if t.Status == "" {
		t.Status = Open
	}
	if t.Priority == "" {
		t.Priority = "normal"
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	if (t.Status == Done || t.Status == Cancelled) && t.CompletedAt == nil {
		c := t.UpdatedAt
		t.CompletedAt = &c
	}
}

// Create validates and stores one new task and returns it as stored.
func Create(ctx context.Context, q store.Querier, t Task) (Task, error) {
	fill(&t, time.Now().UTC().Truncate(time.Second))
	if err := Check(t); err != nil {
		return t, &ValidationError{err}
	}
	if err := Insert(ctx, q, []Task{t}); err != nil {
		return t, err
	}
	return Get(ctx, q, t.ID)
}

// Change is an update of some of a task's fields; nil fields stay. An
// empty Assignee unassigns; a zero DueAt clears the due date.
type Change struct {
	Title       *string
	Description *string
	Assignee    *string
	Status      *string
	Priority    *string
	DueAt       **time.Time
	Outcome     *string
}

// Update applies c to task id after checking the state transition, and
// returns the task before and after. A *ValidationError is a problem with c.
func Update(ctx context.Context, q store.Querier, id string, c Change, now time.Time) (before, after Task, _ error) {
	before, err := Get(ctx, q, id)
	if err != nil {
		return before, before, err
	}
	after = before
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&after.Title, c.Title)
	set(&after.Description, c.Description)
	set(&after.Assignee, c.Assignee)
	set(&after.Status, c.Status)
	set(&after.Priority, c.Priority)
	set(&after.Outcome, c.Outcome)
	if c.DueAt != nil {
		after.DueAt = *c.DueAt
	}
	if err := CanMove(before.Status, after.Status); err != nil {
		return before, before, &ValidationError{err}
	}
	if err := Check(after); err != nil {
		return before, before, &ValidationError{err}
	}
	now = now.UTC().Truncate(time.Second)
	if (after.Status == Done || after.Status == Cancelled) && before.Status != after.Status {
		after.CompletedAt = &now
	}
	after.UpdatedAt = now
	_, err = q.ExecContext(ctx, `UPDATE tasks SET title = $2, description = $3, assignee = $4, status = $5, priority = $6,
		due_at = $7, outcome = $8, updated_at = $9, completed_at = $10 WHERE task_id = $1`,
		id, after.Title, after.Description, nullText(after.Assignee), after.Status, after.Priority, timeArg(after.DueAt),
		after.Outcome, after.UpdatedAt.Unix(), timeArg(after.CompletedAt))
	if err != nil {
		return before, before, fmt.Errorf("update task %s: %w", id, err)
	}
	return before, after, nil
}

// ValidationError is a change that is not allowed (a bad transition or field).
type ValidationError struct{ Err error }

func (e *ValidationError) Error() string { return e.Err.Error() }
func (e *ValidationError) Unwrap() error { return e.Err }

// Delete removes a task.
func Delete(ctx context.Context, q store.Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM tasks WHERE task_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete task %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Filter selects tasks for List. Zero fields do not filter.
type Filter struct {
	Assignee   string
	AccountID  string
	Status     string
	PlaybookID string
	// OverdueAt, when set, keeps only open and in-progress tasks due before it.
	OverdueAt time.Time
	// The page: newest first by created_at (Desc) or oldest first, after the
	// cursor (AfterKey is created_at in unix seconds).
	Desc     bool
	AfterKey any
	AfterID  string
	Limit    int
}

// List returns a page of tasks, by created_at and id.
func List(ctx context.Context, q store.Querier, f Filter) ([]Task, error) {
	var c store.Conditions
	if f.Assignee != "" {
		c.Add("assignee = $%d", f.Assignee)
	}
	if f.AccountID != "" {
		c.Add("account_id = $%d", f.AccountID)
	}
	if f.Status != "" {
		c.Add("status = $%d", f.Status)
	}
	if f.PlaybookID != "" {
		c.Add("playbook_id = $%d", f.PlaybookID)
	}
	if !f.OverdueAt.IsZero() {
		c.Add("status IN ('open', 'in_progress') AND due_at < $%d", f.OverdueAt.Unix())
	}
	page, args := c.Page("created_at", "task_id", f.Desc, f.AfterKey, f.AfterID, f.Limit)
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM tasks`+page, args...)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return out, nil
}

// Queue is an assignee's work queue: their open and in-progress tasks,
// overdue first (the earliest due date first, which puts the overdue ones
// at the top), then tasks without a due date; ties by priority (urgent
// first) and age.
func Queue(ctx context.Context, q store.Querier, assignee string, limit int) ([]Task, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM tasks
		WHERE assignee = $1 AND status IN ('open', 'in_progress')
		ORDER BY (due_at IS NULL), due_at,
			CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
			created_at, task_id
		LIMIT $2`, assignee, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("queue of %s: %w", assignee, err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("queue of %s: %w", assignee, err)
	}
	return out, nil
}

// QueueFilter selects the to-do tasks of [QueueOf]. Zero fields do not filter.
type QueueFilter struct {
	Assignee   string // one assignee's tasks; empty: everyone's, unassigned ones too
	Status     string // open or in_progress; empty: both
	PlaybookID string // only tasks this playbook created
	// DueBefore, when set, keeps only tasks due before it (overdue, or due
	// this week, as the caller picks the instant).
	DueBefore time.Time
	Limit     int
}

// QueueOf is a work queue as [Queue] orders it (earliest due first, then
// tasks without a due date; ties by priority and age), for one assignee or
// everyone, with the queue page's filters.
func QueueOf(ctx context.Context, q store.Querier, f QueueFilter) ([]Task, error) {
	var due int64 // 0: no bound
	if !f.DueBefore.IsZero() {
		due = f.DueBefore.Unix()
	}
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM tasks
		WHERE status IN ('open', 'in_progress') AND ($1 = '' OR assignee = $1) AND ($2 = '' OR status = $2)
			AND ($3 = '' OR playbook_id = $3) AND ($4 = 0 OR due_at < $4)
		ORDER BY (due_at IS NULL), due_at,
			CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END,
			created_at, task_id
		LIMIT $5`, f.Assignee, f.Status, f.PlaybookID, due, store.PageLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("work queue: %w", err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("work queue: %w", err)
	}
	return out, nil
}
