package survey

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// MaxComment bounds a respondent's comment, in characters.
const MaxComment = 5000

// Invitation is one emailed survey as its response link finds it.
type Invitation struct {
	Survey       Survey
	SendID       string
	ContactID    string
	AccountID    string
	Email        string
	Language     string
	SentAt       time.Time
	Unsubscribed bool
	// Answer is the contact's response to this survey, if any.
	Answer *Response
}

// Invited returns the invitation whose response link token is token, or
// ErrNotFound (also for a token that is malformed or was tampered with).
func Invited(ctx context.Context, q store.Querier, token string) (Invitation, error) {
	var inv Invitation
	if !validToken(token, ContactTokenPrefix) {
		return inv, ErrNotFound
	}
	var surveyID string
	var sent int64
	err := q.QueryRowContext(ctx, `SELECT send_id, survey_id, contact_id, account_id, email, language, sent_at
		FROM survey_sends WHERE token_hash = $1`, hashToken(token)).
		Scan(&inv.SendID, &surveyID, &inv.ContactID, &inv.AccountID, &inv.Email, &inv.Language, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return inv, ErrNotFound
	}
	if err != nil {
		return inv, fmt.Errorf("resolve survey token: %w", err)
	}
	inv.SentAt = time.Unix(sent, 0).UTC()
	if inv.Survey, err = Get(ctx, q, surveyID); err != nil {
		return inv, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_unsubscribes WHERE email = $1`,
		strings.ToLower(inv.Email)).Scan(&n); err != nil {
		return inv, fmt.Errorf("resolve survey token: %w", err)
	}
	inv.Unsubscribed = n > 0
	r, err := GetResponse(ctx, q, ResponseID(surveyID, inv.ContactID))
	switch {
	case err == nil:
		inv.Answer = &r
	case !errors.Is(err, ErrNotFound):
		return inv, err
	}
	return inv, nil
}

// Answer is what a respondent submits.
type Answer struct {
	Score   int
	Comment string
}

func (a *Answer) check(kind string) error {
	if err := CheckScore(kind, a.Score); err != nil {
		return invalid("score", "%v", err)
	}
	a.Comment = strings.TrimSpace(a.Comment)
	if !utf8.ValidString(a.Comment) {
		return invalid("comment", "not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(a.Comment); n > MaxComment {
		return invalid("comment", "%d characters: at most %d", n, MaxComment)
	}
	return nil
}

// Respond records the invited contact's answer: one response per contact
// per survey, so a second answer replaces the first (the respondent
// correcting a slip). It goes through [UpsertResponse] like any other
// response, so health, the timeline, the metrics and the NPS-detractor
// trigger see it, and a comment becomes a feedback item.
func Respond(ctx context.Context, q store.Querier, inv Invitation, a Answer, now time.Time) (Response, error) {
	if inv.Survey.Status != StatusActive {
		return Response{}, ErrClosed
	}
	r := Response{ID: ResponseID(inv.Survey.ID, inv.ContactID), AccountID: inv.AccountID, ContactID: inv.ContactID}
	if err := record(ctx, q, inv.Survey, &r, a, now); err != nil {
		return r, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE survey_sends SET responded_at = $2 WHERE send_id = $1`, inv.SendID, now.Unix()); err != nil {
		return r, fmt.Errorf("respond to survey %s: %w", inv.Survey.ID, err)
	}
	return r, nil
}

// record checks the answer and upserts the response r (its ids set) with
// the comment as a feedback item.
func record(ctx context.Context, q store.Querier, s Survey, r *Response, a Answer, now time.Time) error {
	if err := a.check(s.Kind); err != nil {
		return err
	}
	r.Survey, r.Kind, r.Score, r.Comment, r.AnsweredAt = s.ID, s.Kind, a.Score, a.Comment, now.UTC().Truncate(time.Second)
	if err := UpsertResponse(ctx, q, *r); err != nil {
		return err
	}
	if r.Comment == "" {
		return nil
	}
	return feedback.FromComment(ctx, q, feedback.Item{ID: "fb_" + r.ID, AccountID: r.AccountID, Text: r.Comment,
		Source: feedback.SourceSurvey, CreatedAt: r.AnsweredAt})
}

// Unsubscribe stops every survey to the invited contact's email address.
func Unsubscribe(ctx context.Context, q store.Querier, inv Invitation, now time.Time) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO survey_unsubscribes (email, contact_id, at) VALUES ($1, $2, $3)
		ON CONFLICT (email) DO NOTHING`, strings.ToLower(inv.Email), inv.ContactID, now.Unix()); err != nil {
		return fmt.Errorf("unsubscribe %s: %w", inv.ContactID, err)
	}
	return nil
}

// PublicAnswer is an answer through a survey's anonymous public link.
type PublicAnswer struct {
	Answer
	Email   string // required: who answers
	Account string // the company (account id or exact name), when the email is not a known contact's
}

// RespondPublic records an answer through the survey's public link. The
// email finds the contact (and so the account); failing that, the account
// field must name an account by id or exact name. One response per email
// per survey: answering again replaces it.
func RespondPublic(ctx context.Context, q store.Querier, s Survey, a PublicAnswer, now time.Time) (Response, error) {
	if s.Status != StatusActive {
		return Response{}, ErrClosed
	}
	addr, err := mail.ParseAddress(strings.TrimSpace(a.Email))
	if err != nil || strings.ContainsAny(a.Email, "<>\"") {
		return Response{}, invalid("email", "%q is not an email address", a.Email)
	}
	email := strings.ToLower(addr.Address)
	if err := a.check(s.Kind); err != nil {
		return Response{}, err
	}
	var r Response
	err = q.QueryRowContext(ctx, `SELECT contact_id, account_id FROM contacts WHERE LOWER(email) = $1
		ORDER BY contact_id LIMIT 1`, email).Scan(&r.ContactID, &r.AccountID)
	switch {
	case err == nil:
		r.ID = ResponseID(s.ID, r.ContactID)
	case errors.Is(err, sql.ErrNoRows):
		name := strings.TrimSpace(a.Account)
		if name == "" {
			return r, invalid("account", "required: your email is not one we know, so name your company")
		}
		err = q.QueryRowContext(ctx, `SELECT account_id FROM accounts WHERE account_id = $1 OR LOWER(name) = LOWER($1)
			ORDER BY CASE WHEN account_id = $1 THEN 0 ELSE 1 END, account_id LIMIT 1`, name).Scan(&r.AccountID)
		if errors.Is(err, sql.ErrNoRows) {
			return r, invalid("account", "no customer is called %q: write your company's name as in your contract", name)
		}
		if err != nil {
			return r, fmt.Errorf("public answer to survey %s: %w", s.ID, err)
		}
		sum := sha256.Sum256([]byte(email))
		r.ID = "sv_" + s.ID + "_e" + hex.EncodeToString(sum[:8])
	default:
		return r, fmt.Errorf("public answer to survey %s: %w", s.ID, err)
	}
	return r, record(ctx, q, s, &r, a.Answer, now)
}
