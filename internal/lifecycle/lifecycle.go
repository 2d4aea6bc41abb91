// Package lifecycle owns the customer lifecycle (DESIGN.md C8): the stages
// an account goes through (prospect, onboarding, adoption, expansion,
// renewal, at risk, churned), each set by a rule on the account snapshot,
// the stage history that gives time in stage and the stage at any past
// instant, and the customer journey map (カスタマージャーニーマップ) that says,
// per stage, what the customer wants and what support to give.
//
// Stage rules are tried in ascending priority (ties by id) and the first
// that matches sets the stage: an account is in exactly one stage, or in
// none when no rule matches (an account that never bought and is not a
// trial). A rule may use every snapshot field, health_band included (the
// health stage runs before this one), and stage and days_in_stage, which
// are then the stage stored before this evaluation: a rule can hold an
// account in a stage until a condition clears.
//
// Trial prospects (account attribute lifecycle = trial) are not customers;
// the defaults give them their own first stage, prospect, so that the
// pre-purchase phase has its place on the journey map, and every customer
// stage requires customer.
package lifecycle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrNotFound is returned for a stage that does not exist.
var ErrNotFound = errors.New("stage not found")

// ErrInvalid is returned for a bad stage id, name or priority (a rule that
// does not compile is a *rule.Error instead).
var ErrInvalid = errors.New("invalid stage")

// ErrExists is returned when creating a stage whose id is taken.
var ErrExists = errors.New("stage exists")

// StageDefinition is one lifecycle stage and the rule that puts an account
// in it.
type StageDefinition struct {
	ID          string    `json:"stage_id" doc:"A slug: lower-case letters, digits and _, starting with a letter; what the snapshot's stage field holds."`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Rule        string    `json:"rule" doc:"A condition over the snapshot's fields; stage and days_in_stage in it are the stage before this evaluation."`
	Priority    int       `json:"priority" doc:"Stages are tried in ascending priority (ties by id); the first whose rule matches is the account's stage."`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

var slug = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// reserved are ids the API's paths use beside /stages/{stage_id}.
var reserved = map[string]bool{"summary": true}

// MaxPriority bounds a priority, so that priorities stay readable numbers.
const MaxPriority = 1_000_000

// Validate checks a stage's fields before it is saved: the id, a name, the
// priority and the rule (a *rule.Error with the position when it does not
// compile).
func Validate(d StageDefinition) error {
	if !slug.MatchString(d.ID) {
		return fmt.Errorf("%w: id %q: want lower-case letters, digits and _, starting with a letter, at most 63 characters", ErrInvalid, d.ID)
	}
	if reserved[d.ID] {
		return fmt.Errorf("%w: id %q is reserved", ErrInvalid, d.ID)
	}
	if strings.TrimSpace(d.Name) == "" {
		return fmt.Errorf("%w: %s: empty name", ErrInvalid, d.ID)
	}
	if d.Priority < 0 || d.Priority > MaxPriority {
		return fmt.Errorf("%w: %s: priority %d: want 0 to %d", ErrInvalid, d.ID, d.Priority, MaxPriority)
	}
	_, err := rule.Compile(d.Rule, rule.Bool)
	return err
}

const columns = `stage_id, name, description, rule, priority, created_at, updated_at`

func scanDefinition(sc interface{ Scan(...any) error }) (StageDefinition, error) {
	var d StageDefinition
	var created, updated int64
	if err := sc.Scan(&d.ID, &d.Name, &d.Description, &d.Rule, &d.Priority, &created, &updated); err != nil {
		return d, err
	}
	d.CreatedAt, d.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return d, nil
}

// Get returns one stage, or ErrNotFound.
func Get(ctx context.Context, q store.Querier, id string) (StageDefinition, error) {
	d, err := scanDefinition(q.QueryRowContext(ctx, `SELECT `+columns+` FROM lifecycle_stages WHERE stage_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("stage %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("get stage %s: %w", id, err)
	}
	return d, nil
}

// List returns every stage in evaluation order: ascending priority, then id.
func List(ctx context.Context, q store.Querier) ([]StageDefinition, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM lifecycle_stages ORDER BY priority, stage_id`)
	if err != nil {
		return nil, fmt.Errorf("list stages: %w", err)
	}
	out, err := store.Collect(rows, scanDefinition)
	if err != nil {
		return nil, fmt.Errorf("list stages: %w", err)
	}
	return out, nil
}

// Create stores a new stage (ErrExists when the id is taken) after
// validating it. Accounts move into it at the next [Refresh] or recompute.
func Create(ctx context.Context, q store.Querier, d StageDefinition, now time.Time) (StageDefinition, error) {
	if err := Validate(d); err != nil {
		return d, err
	}
	res, err := q.ExecContext(ctx, `INSERT INTO lifecycle_stages (stage_id, name, description, rule, priority, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (stage_id) DO NOTHING`, d.ID, d.Name, d.Description, d.Rule, d.Priority, now.Unix())
	if err != nil {
		return d, fmt.Errorf("create stage %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return d, fmt.Errorf("create stage %s: %w", d.ID, ErrExists)
	}
	return Get(ctx, q, d.ID)
}

// Update changes a stage's name, description, rule and priority
// (ErrNotFound when it does not exist) after validating them.
func Update(ctx context.Context, q store.Querier, d StageDefinition, now time.Time) (StageDefinition, error) {
	if err := Validate(d); err != nil {
		return d, err
	}
	res, err := q.ExecContext(ctx, `UPDATE lifecycle_stages SET name = $2, description = $3, rule = $4, priority = $5, updated_at = $6
		WHERE stage_id = $1`, d.ID, d.Name, d.Description, d.Rule, d.Priority, now.Unix())
	if err != nil {
		return d, fmt.Errorf("update stage %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return d, fmt.Errorf("update stage %s: %w", d.ID, ErrNotFound)
	}
	return Get(ctx, q, d.ID)
}

// Delete removes a stage and its journey step. The history keeps the
// stays in it (they happened); its current accounts move to the stage
// their rules give at the next [Refresh] or recompute.
func Delete(ctx context.Context, q store.Querier, id string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM journey_steps WHERE stage_id = $1`, id); err != nil {
		return fmt.Errorf("delete stage %s: %w", id, err)
	}
	res, err := q.ExecContext(ctx, `DELETE FROM lifecycle_stages WHERE stage_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete stage %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete stage %s: %w", id, ErrNotFound)
	}
	return nil
}
