package survey

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrNotFound is returned when a survey response does not exist.
var ErrNotFound = errors.New("not found")

// ResponseSorts are the fields survey responses can be listed by.
var ResponseSorts = []string{"answered_at", "response_id"}

// ResponseFilter selects a page of survey responses for [SearchResponses].
type ResponseFilter struct {
	AccountID string // only this account's responses
	Survey    string // only responses to this survey
	Kind      string // only responses of this kind (nps, csat, ces)

	Sort     string // one of ResponseSorts; default answered_at
	Desc     bool
	AfterKey any    // [Response.SortKey] of the last response of the previous page
	AfterID  string // and its response_id
	Limit    int    // default 100
}

// SortKey is the response's value of a sort field, as a cursor carries it.
func (r Response) SortKey(sort string) any {
	if sort == "response_id" {
		return r.ID
	}
	return r.AnsweredAt.Unix()
}

// CheckScore reports whether score is in the range of the survey kind.
func CheckScore(kind string, score int) error {
	rng, ok := ScoreRange[kind]
	if !ok {
		return fmt.Errorf("kind %q is not one of nps, csat, ces", kind)
	}
	if score < rng[0] || score > rng[1] {
		return fmt.Errorf("score %d is not from %d to %d for %s", score, rng[0], rng[1], kind)
	}
	return nil
}

// UpsertResponse creates or replaces one survey response. An empty kind is nps.
func UpsertResponse(ctx context.Context, q store.Querier, r Response) error {
	if r.Kind == "" {
		r.Kind = "nps"
	}
	switch {
	case r.ID == "" || r.AccountID == "" || r.Survey == "":
		return errors.New("upsert response: response_id, account_id and survey are required")
	case r.AnsweredAt.IsZero():
		return fmt.Errorf("upsert response %s: answered_at is required", r.ID)
	}
	if err := CheckScore(r.Kind, r.Score); err != nil {
		return fmt.Errorf("upsert response %s: %w", r.ID, err)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO survey_responses (response_id, account_id, contact_id, survey, kind, score, comment,
			answered_at, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (response_id) DO UPDATE SET account_id = excluded.account_id, contact_id = excluded.contact_id,
			survey = excluded.survey, kind = excluded.kind, score = excluded.score, comment = excluded.comment,
			answered_at = excluded.answered_at, updated_at = excluded.updated_at`,
		r.ID, r.AccountID, r.ContactID, r.Survey, r.Kind, r.Score, r.Comment, r.AnsweredAt.Unix(), store.Now())
	if err != nil {
		return fmt.Errorf("upsert response %s: %w", r.ID, err)
	}
	return nil
}

const responseColumns = `response_id, account_id, contact_id, survey, kind, score, comment, answered_at`

func scanResponse(sc interface{ Scan(...any) error }) (Response, error) {
	var r Response
	var at int64
	if err := sc.Scan(&r.ID, &r.AccountID, &r.ContactID, &r.Survey, &r.Kind, &r.Score, &r.Comment, &at); err != nil {
		return r, err
	}
	r.AnsweredAt = time.Unix(at, 0).UTC()
	return r, nil
}

// GetResponse returns one survey response, or ErrNotFound.
func GetResponse(ctx context.Context, q store.Querier, id string) (Response, error) {
	r, err := scanResponse(q.QueryRowContext(ctx, `SELECT `+responseColumns+` FROM survey_responses WHERE response_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("response %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("get response %s: %w", id, err)
	}
	return r, nil
}

// SearchResponses returns a page of survey responses.
func SearchResponses(ctx context.Context, q store.Querier, f ResponseFilter) ([]Response, error) {
	var col string
	switch f.Sort {
	case "", "answered_at":
		col = "answered_at"
	case "response_id":
		col = "response_id"
	default:
		return nil, fmt.Errorf("search responses: unknown sort field %q (one of answered_at, response_id)", f.Sort)
	}
	args := []any{f.AccountID, f.Survey, f.Kind}
	cond, order, args := store.Keyset(col, "response_id", f.Desc, f.AfterKey, f.AfterID, args)
	args = append(args, store.PageLimit(f.Limit))
	rows, err := q.QueryContext(ctx, `SELECT `+responseColumns+` FROM survey_responses
		WHERE ($1 = '' OR account_id = $1) AND ($2 = '' OR survey = $2) AND ($3 = '' OR kind = $3) AND `+cond+`
		ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search responses: %w", err)
	}
	out, err := store.Collect(rows, scanResponse)
	if err != nil {
		return nil, fmt.Errorf("search responses: %w", err)
	}
	return out, nil
}

// DeleteResponse removes one survey response, or returns ErrNotFound.
func DeleteResponse(ctx context.Context, q store.Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM survey_responses WHERE response_id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete response %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete response %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("response %s: %w", id, ErrNotFound)
	}
	return nil
}
