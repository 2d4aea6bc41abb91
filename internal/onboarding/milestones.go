package onboarding

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ChecklistMilestone is one item of the onboarding checklist.
type ChecklistMilestone struct {
	ID       string `json:"milestone_id" doc:"A slug: lower-case letters, digits and _, starting with a letter."`
	Name     string `json:"name"`
	Event    string `json:"event,omitempty" doc:"The usage event that completes it when first seen for the account (setup_completed, reports); empty: by hand only."`
	Position int    `json:"position" doc:"Its place in the checklist, smallest first."`
}

var slug = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// ValidateMilestone checks a milestone's fields.
func ValidateMilestone(m ChecklistMilestone) error {
	switch {
	case !slug.MatchString(m.ID):
		return &FieldError{Field: "milestone_id", Reason: fmt.Sprintf("%q: want lower-case letters, digits and _, starting with a letter (at most 63)", m.ID)}
	case strings.TrimSpace(m.Name) == "":
		return &FieldError{Field: "name", Reason: "empty"}
	case len(m.Name) > 200:
		return &FieldError{Field: "name", Reason: "longer than 200 bytes"}
	case strings.TrimSpace(m.Event) != m.Event || len(m.Event) > 200:
		return &FieldError{Field: "event", Reason: fmt.Sprintf("%q: want an event name without surrounding spaces", m.Event)}
	}
	return nil
}

// Milestones lists the checklist in order.
func Milestones(ctx context.Context, q store.Querier) ([]ChecklistMilestone, error) {
	rows, err := q.QueryContext(ctx, `SELECT milestone_id, name, event, position FROM onboarding_milestones ORDER BY position, milestone_id`)
	if err != nil {
		return nil, fmt.Errorf("onboarding milestones: %w", err)
	}
	defer rows.Close()
	var out []ChecklistMilestone
	for rows.Next() {
		var m ChecklistMilestone
		if err := rows.Scan(&m.ID, &m.Name, &m.Event, &m.Position); err != nil {
			return nil, fmt.Errorf("onboarding milestones: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// GetMilestone returns one milestone.
func GetMilestone(ctx context.Context, q store.Querier, id string) (ChecklistMilestone, error) {
	m := ChecklistMilestone{ID: id}
	err := q.QueryRowContext(ctx, `SELECT name, event, position FROM onboarding_milestones WHERE milestone_id = $1`, id).
		Scan(&m.Name, &m.Event, &m.Position)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("milestone %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("milestone %q: %w", id, err)
	}
	return m, nil
}

// PutMilestone creates or replaces a milestone and reports whether it was
// created. Completions recorded for it stay.
func PutMilestone(ctx context.Context, q store.Querier, m ChecklistMilestone, at time.Time) (bool, error) {
	if err := ValidateMilestone(m); err != nil {
		return false, err
	}
	_, err := GetMilestone(ctx, q, m.ID)
	created := errors.Is(err, ErrNotFound)
	if err != nil && !created {
		return false, err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO onboarding_milestones (milestone_id, name, event, position, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (milestone_id) DO UPDATE SET name = excluded.name, event = excluded.event, position = excluded.position,
			updated_at = excluded.updated_at`, m.ID, strings.TrimSpace(m.Name), m.Event, m.Position, at.Unix())
	if err != nil {
		return false, fmt.Errorf("save milestone %q: %w", m.ID, err)
	}
	return created, nil
}

// DeleteMilestone removes a milestone with its completions.
func DeleteMilestone(ctx context.Context, q store.Querier, id string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM onboarding_checklist WHERE milestone_id = $1`, id); err != nil {
		return fmt.Errorf("delete milestone %q: %w", id, err)
	}
	res, err := q.ExecContext(ctx, `DELETE FROM onboarding_milestones WHERE milestone_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete milestone %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("milestone %q: %w", id, ErrNotFound)
	}
	return nil
}

// ChecklistItem is a milestone of one account's checklist.
type ChecklistItem struct {
	ChecklistMilestone
	Done bool       `json:"done"`
	At   *time.Time `json:"at,omitempty" doc:"When it was completed (the day of the first event, or the time given by hand), or uncompleted by hand."`
	// Source is event (completed from usage) or manual; empty when nothing
	// was recorded.
	Source string `json:"source,omitempty" enum:"event,manual"`
	By     string `json:"by,omitempty" doc:"Who completed or uncompleted it by hand."`
}

// Checklist is the checklist of one account, in order.
func Checklist(ctx context.Context, q store.Querier, accountID string) ([]ChecklistItem, error) {
	ms, err := Milestones(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT milestone_id, done, at, source, by_actor FROM onboarding_checklist WHERE account_id = $1`, accountID)
	if err != nil {
		return nil, fmt.Errorf("checklist of %s: %w", accountID, err)
	}
	defer rows.Close()
	got := map[string]ChecklistItem{}
	for rows.Next() {
		var id string
		var it ChecklistItem
		var done int
		var at int64
		if err := rows.Scan(&id, &done, &at, &it.Source, &it.By); err != nil {
			return nil, fmt.Errorf("checklist of %s: %w", accountID, err)
		}
		t := time.Unix(at, 0).UTC()
		it.Done, it.At = done == 1, &t
		got[id] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("checklist of %s: %w", accountID, err)
	}
	out := make([]ChecklistItem, 0, len(ms))
	for _, m := range ms {
		it := got[m.ID]
		it.ChecklistMilestone = m
		out = append(out, it)
	}
	return out, nil
}

// SetDone completes (done) or uncompletes a milestone of an account by hand,
// at instant at, by actor, and returns the item before and after. An item
// uncompleted by hand is not completed again from events.
func SetDone(ctx context.Context, q store.Querier, accountID, milestoneID string, done bool, at time.Time, actor string) (before, after ChecklistItem, err error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE account_id = $1`, accountID).Scan(&n); err != nil {
		return before, after, fmt.Errorf("milestone %s of %s: %w", milestoneID, accountID, err)
	}
	if n == 0 {
		return before, after, fmt.Errorf("account %q: %w", accountID, ErrNotFound)
	}
	m, err := GetMilestone(ctx, q, milestoneID)
	if err != nil {
		return before, after, err
	}
	list, err := Checklist(ctx, q, accountID)
	if err != nil {
		return before, after, err
	}
	for _, it := range list {
		if it.ID == m.ID {
			before = it
		}
	}
	v := 0
	if done {
		v = 1
	}
	t := at.UTC().Truncate(time.Second)
	_, err = q.ExecContext(ctx, `INSERT INTO onboarding_checklist (account_id, milestone_id, done, at, source, by_actor)
		VALUES ($1, $2, $3, $4, 'manual', $5)
		ON CONFLICT (account_id, milestone_id) DO UPDATE SET done = excluded.done, at = excluded.at, source = excluded.source,
			by_actor = excluded.by_actor`, accountID, m.ID, v, t.Unix(), actor)
	if err != nil {
		return before, after, fmt.Errorf("milestone %s of %s: %w", m.ID, accountID, err)
	}
	// A rule may read the milestones: the account's result is evaluated
	// anew by the next recompute, even when its window has closed.
	if _, err := q.ExecContext(ctx, `DELETE FROM onboarding_results WHERE account_id = $1`, accountID); err != nil {
		return before, after, fmt.Errorf("milestone %s of %s: %w", m.ID, accountID, err)
	}
	after = ChecklistItem{ChecklistMilestone: m, Done: done, At: &t, Source: "manual", By: actor}
	return before, after, nil
}
