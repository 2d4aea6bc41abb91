package lifecycle

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

// Touch is the support to give in a stage by touch tier (internal/coverage:
// high, low and tech touch).
type Touch struct {
	High string `json:"high" required:"false" doc:"High touch: the accounts a CSM owns closely."`
	Low  string `json:"low" required:"false" doc:"Low touch: one-to-many with some personal contact."`
	Tech string `json:"tech" required:"false" doc:"Tech touch: automated, digital."`
}

// JourneyFields are the editable parts of one stage's journey step. Each is
// one text, in whatever language the team writes it.
type JourneyFields struct {
	Position  int      `json:"position" required:"false" doc:"The step's place on the map, ascending (the journey's order, not the rules' priority)."`
	Goal      string   `json:"goal" required:"false" maxLength:"4000" doc:"What the customer wants to achieve in this stage."`
	Actions   string   `json:"actions" required:"false" maxLength:"4000" doc:"What the customer does."`
	Feelings  string   `json:"feelings" required:"false" maxLength:"4000" doc:"How the customer feels (their mindset)."`
	Questions string   `json:"questions" required:"false" maxLength:"4000" doc:"What the customer asks themselves."`
	Support   string   `json:"support" required:"false" maxLength:"4000" doc:"The support and content to offer."`
	Touch     Touch    `json:"touch" required:"false" doc:"The touch by tier."`
	Playbooks []string `json:"playbooks" required:"false" doc:"The ids of the playbooks that apply in this stage."`
}

// JourneyStep is one stage of the journey map.
type JourneyStep struct {
	StageID string `json:"stage_id"`
	JourneyFields
	UpdatedAt *time.Time `json:"updated_at" nullable:"true" doc:"Null for a stage whose step was never written."`
}

// maxText bounds each text of a step.
const maxText = 4000

// ValidateJourney checks a step's fields; q, when not nil, is asked
// whether each playbook exists.
func ValidateJourney(ctx context.Context, q store.Querier, stageID string, f JourneyFields) error {
	for name, v := range map[string]string{"goal": f.Goal, "actions": f.Actions, "feelings": f.Feelings, "questions": f.Questions,
		"support": f.Support, "touch.high": f.Touch.High, "touch.low": f.Touch.Low, "touch.tech": f.Touch.Tech} {
		if len(v) > maxText {
			return &FieldError{Field: name, Message: fmt.Sprintf("%d bytes; at most %d", len(v), maxText)}
		}
	}
	if f.Position < 0 || f.Position > MaxPriority {
		return &FieldError{Field: "position", Message: fmt.Sprintf("%d: want 0 to %d", f.Position, MaxPriority)}
	}
	for i, id := range f.Playbooks {
		field := fmt.Sprintf("playbooks[%d]", i)
		if strings.TrimSpace(id) == "" {
			return &FieldError{Field: field, Message: "an empty playbook id"}
		}
		if slices.Index(f.Playbooks, id) < i {
			return &FieldError{Field: field, Message: fmt.Sprintf("playbook %s is listed twice", id)}
		}
		if q == nil {
			continue
		}
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM playbooks WHERE playbook_id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("journey step %s: %w", stageID, err)
		}
		if n == 0 {
			return &FieldError{Field: field, Message: fmt.Sprintf("no playbook %s", id)}
		}
	}
	return nil
}

// FieldError is a journey step field that cannot be saved: which and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Journey returns the map: a step for every defined stage, by position
// then the stages' evaluation order; a stage never written has empty
// texts and sorts last.
func Journey(ctx context.Context, q store.Querier) ([]JourneyStep, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.stage_id, j.position, COALESCE(j.goal, ''), COALESCE(j.actions, ''),
			COALESCE(j.feelings, ''), COALESCE(j.questions, ''), COALESCE(j.support, ''), COALESCE(j.touch_high, ''),
			COALESCE(j.touch_low, ''), COALESCE(j.touch_tech, ''), COALESCE(j.playbooks, '[]'), j.updated_at
		FROM lifecycle_stages s LEFT JOIN journey_steps j ON j.stage_id = s.stage_id
		ORDER BY CASE WHEN j.position IS NULL THEN 1 ELSE 0 END, j.position, s.priority, s.stage_id`)
	if err != nil {
		return nil, fmt.Errorf("journey: %w", err)
	}
	out, err := store.Collect(rows, scanStep)
	if err != nil {
		return nil, fmt.Errorf("journey: %w", err)
	}
	return out, nil
}

func scanStep(sc interface{ Scan(...any) error }) (JourneyStep, error) {
	var j JourneyStep
	var pos, updated sql.NullInt64
	var playbooks string
	if err := sc.Scan(&j.StageID, &pos, &j.Goal, &j.Actions, &j.Feelings, &j.Questions, &j.Support,
		&j.Touch.High, &j.Touch.Low, &j.Touch.Tech, &playbooks, &updated); err != nil {
		return j, err
	}
	j.Position = int(pos.Int64)
	if updated.Valid {
		t := time.Unix(updated.Int64, 0).UTC()
		j.UpdatedAt = &t
	}
	if err := json.Unmarshal([]byte(playbooks), &j.Playbooks); err != nil {
		return j, fmt.Errorf("stage %s: playbooks %q: %w", j.StageID, playbooks, err)
	}
	if j.Playbooks == nil {
		j.Playbooks = []string{}
	}
	return j, nil
}

// Step returns one stage's step (empty texts when never written), or
// ErrNotFound when the stage does not exist.
func Step(ctx context.Context, q store.Querier, stageID string) (JourneyStep, error) {
	if _, err := Get(ctx, q, stageID); err != nil {
		return JourneyStep{}, err
	}
	list, err := Journey(ctx, q)
	if err != nil {
		return JourneyStep{}, err
	}
	for _, j := range list {
		if j.StageID == stageID {
			return j, nil
		}
	}
	return JourneyStep{}, fmt.Errorf("journey step %s: %w", stageID, ErrNotFound)
}

// PutStep replaces a stage's step after validating it (ErrNotFound when
// the stage does not exist; a *FieldError for a bad field).
func PutStep(ctx context.Context, q store.Querier, stageID string, f JourneyFields, now time.Time) (JourneyStep, error) {
	if _, err := Get(ctx, q, stageID); err != nil {
		return JourneyStep{}, err
	}
	if err := ValidateJourney(ctx, q, stageID, f); err != nil {
		return JourneyStep{}, err
	}
	if f.Playbooks == nil {
		f.Playbooks = []string{}
	}
	pb, err := json.Marshal(f.Playbooks)
	if err != nil {
		return JourneyStep{}, fmt.Errorf("journey step %s: %w", stageID, err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO journey_steps (stage_id, position, goal, actions, feelings, questions, support,
			touch_high, touch_low, touch_tech, playbooks, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (stage_id) DO UPDATE SET position = excluded.position, goal = excluded.goal, actions = excluded.actions,
			feelings = excluded.feelings, questions = excluded.questions, support = excluded.support,
			touch_high = excluded.touch_high, touch_low = excluded.touch_low, touch_tech = excluded.touch_tech,
			playbooks = excluded.playbooks, updated_at = excluded.updated_at`,
		stageID, f.Position, f.Goal, f.Actions, f.Feelings, f.Questions, f.Support, f.Touch.High, f.Touch.Low, f.Touch.Tech,
		string(pb), now.Unix())
	if err != nil {
		return JourneyStep{}, fmt.Errorf("journey step %s: %w", stageID, err)
	}
	return Step(ctx, q, stageID)
}

// IsFieldError reports whether err is a *FieldError and returns it.
func IsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
