// Package survey owns survey responses (NPS, CSAT, CES) and the scores computed from them.
package survey

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Response is one answer to a survey.
type Response struct {
	ID         string    `json:"response_id"`
	AccountID  string    `json:"account_id"`
	ContactID  string    `json:"contact_id,omitempty"`
	Survey     string    `json:"survey"`
	Kind       string    `json:"kind"`
	Score      int       `json:"score"`
	Comment    string    `json:"comment,omitempty"`
	AnsweredAt time.Time `json:"answered_at"`
}

// ScoreRange is the valid score range of each survey kind.
var ScoreRange = map[string][2]int{"nps": {0, 10}, "csat": {1, 5}, "ces": {1, 7}}

// NPS is 100 × (promoters − detractors) / responses, promoters scoring 9–10
// and detractors 0–6; scores outside 0–10 are ignored; ok is false without
// responses.
func NPS(scores []int) (nps float64, ok bool) {
	var p, d, n int
	for _, s := range scores {
		if s < 0 || s > 10 {
			continue
		}
		n++
		switch {
		case s >= 9:
			p++
		case s <= 6:
			d++
		}
	}
	if n == 0 {
		return 0, false
	}
	return 100 * float64(p-d) / float64(n), true
}

// CSAT is the share of 1–5 responses that are 4 or 5; scores outside 1–5
// are ignored; ok is false without responses.
func CSAT(scores []int) (csat float64, ok bool) {
	var sat, n int
	for _, s := range scores {
		if s < 1 || s > 5 {
			continue
		}
		n++
		if s >= 4 {
			sat++
		}
	}
	if n == 0 {
		return 0, false
	}
	return float64(sat) / float64(n), true
}

// StageResponses is the staging layout MergeResponses reads (after the line column).
const StageResponses = `response_id TEXT NOT NULL, account_id TEXT NOT NULL, contact_id TEXT NOT NULL, survey TEXT NOT NULL,
	kind TEXT NOT NULL, score INTEGER NOT NULL, comment TEXT NOT NULL, answered_at BIGINT NOT NULL`

// StageResponsesColumns are StageResponses' column names, in order.
var StageResponsesColumns = []string{"response_id", "account_id", "contact_id", "survey", "kind", "score", "comment", "answered_at"}

// MergeResponses upserts the staged responses.
func MergeResponses(ctx context.Context, q store.Querier, stage string, now int64) (int64, error) {
	return store.MergeStaged(ctx, q, store.Merge{Stage: stage, Target: "survey_responses", Key: []string{"response_id"}, Now: now,
		Columns: []string{"account_id", "contact_id", "survey", "kind", "score", "comment", "answered_at"}})
}

// Responses returns an account's survey responses, newest first.
func Responses(ctx context.Context, q store.Querier, accountID string) ([]Response, error) {
	rows, err := q.QueryContext(ctx, `SELECT response_id, account_id, contact_id, survey, kind, score, comment, answered_at
		FROM survey_responses WHERE account_id = $1 ORDER BY answered_at DESC, response_id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("responses of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []Response
	for rows.Next() {
		var r Response
		var at int64
		if err := rows.Scan(&r.ID, &r.AccountID, &r.ContactID, &r.Survey, &r.Kind, &r.Score, &r.Comment, &at); err != nil {
			return nil, err
		}
		r.AnsweredAt = time.Unix(at, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}
