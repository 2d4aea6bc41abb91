package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Note is one entry of an account's activity timeline: a note, call, meeting or email.
type Note struct {
	ID          string    `json:"note_id"`
	AccountID   string    `json:"account_id"`
	Kind        string    `json:"kind"`
	Body        string    `json:"body"`
	AuthorEmail string    `json:"author_email,omitempty"`
	OccurredAt  time.Time `json:"occurred_at"`
}

// NoteKinds are the kinds of timeline entries.
var NoteKinds = []string{"note", "call", "meeting", "email"}

// AddNote records a timeline entry and returns it with its id.
func AddNote(ctx context.Context, q store.Querier, n Note) (Note, error) {
	if n.Kind == "" {
		n.Kind = "note"
	}
	valid := false
	for _, k := range NoteKinds {
		valid = valid || k == n.Kind
	}
	switch {
	case !valid:
		return n, fmt.Errorf("add note: kind %q is not one of %s", n.Kind, strings.Join(NoteKinds, ", "))
	case strings.TrimSpace(n.Body) == "":
		return n, errors.New("add note: empty body")
	case n.AccountID == "":
		return n, errors.New("add note: no account")
	}
	if n.ID == "" {
		n.ID = store.NewID("n_")
	}
	if n.OccurredAt.IsZero() {
		n.OccurredAt = time.Now().UTC().Truncate(time.Second)
	}
	now := store.Now()
	_, err := q.ExecContext(ctx, `INSERT INTO notes (note_id, account_id, kind, body, author_email, occurred_at, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, n.ID, n.AccountID, n.Kind, n.Body, n.AuthorEmail, n.OccurredAt.Unix(), now)
	if err != nil {
		return n, fmt.Errorf("add note to %s: %w", n.AccountID, err)
	}
	return n, nil
}

// Notes returns an account's timeline entries, newest first.
func Notes(ctx context.Context, q store.Querier, accountID string, limit int) ([]Note, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := q.QueryContext(ctx, `SELECT note_id, account_id, kind, body, author_email, occurred_at FROM notes
		WHERE account_id = $1 ORDER BY occurred_at DESC, note_id LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("notes of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &n.AccountID, &n.Kind, &n.Body, &n.AuthorEmail, &at); err != nil {
			return nil, err
		}
		n.OccurredAt = time.Unix(at, 0).UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

// Handoff is the sales→CS handoff record (引き継ぎ) of an account.
type Handoff struct {
	AccountID       string    `json:"account_id"`
	WhyBought       string    `json:"why_bought"`
	Challenges      string    `json:"challenges"`
	Proposed        string    `json:"proposed"`
	Promised        string    `json:"promised"`
	SuccessCriteria string    `json:"success_criteria"`
	DecisionMakers  string    `json:"decision_makers"`
	AuthorEmail     string    `json:"author_email,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// SetHandoff creates or replaces an account's handoff record.
func SetHandoff(ctx context.Context, q store.Querier, h Handoff) error {
	if h.AccountID == "" {
		return errors.New("set handoff: no account")
	}
	_, err := q.ExecContext(ctx, `INSERT INTO handoffs (account_id, why_bought, challenges, proposed, promised,
			success_criteria, decision_makers, author_email, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (account_id) DO UPDATE SET why_bought = excluded.why_bought, challenges = excluded.challenges,
			proposed = excluded.proposed, promised = excluded.promised, success_criteria = excluded.success_criteria,
			decision_makers = excluded.decision_makers, author_email = excluded.author_email, updated_at = excluded.updated_at`,
		h.AccountID, h.WhyBought, h.Challenges, h.Proposed, h.Promised, h.SuccessCriteria, h.DecisionMakers, h.AuthorEmail, store.Now())
	if err != nil {
		return fmt.Errorf("set handoff of %s: %w", h.AccountID, err)
	}
	return nil
}

// GetHandoff returns an account's handoff record, or ErrNotFound.
func GetHandoff(ctx context.Context, q store.Querier, accountID string) (Handoff, error) {
	h := Handoff{AccountID: accountID}
	var updated int64
	err := q.QueryRowContext(ctx, `SELECT why_bought, challenges, proposed, promised, success_criteria, decision_makers,
		author_email, updated_at FROM handoffs WHERE account_id = $1`, accountID).
		Scan(&h.WhyBought, &h.Challenges, &h.Proposed, &h.Promised, &h.SuccessCriteria, &h.DecisionMakers, &h.AuthorEmail, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("handoff of %s: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("handoff of %s: %w", accountID, err)
	}
	h.UpdatedAt = time.Unix(updated, 0).UTC()
	return h, nil
}
