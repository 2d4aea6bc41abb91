package survey

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrExists is returned when creating a survey whose id is taken.
var ErrExists = errors.New("survey exists")

// ErrClosed is returned when sending or answering a closed survey.
var ErrClosed = errors.New("the survey is closed")

// Statuses of a survey: a closed one is neither sent nor answered.
const (
	StatusActive = "active"
	StatusClosed = "closed"
)

// Defaults of a survey's sending limits.
const (
	DefaultThrottleDays = 90
	DefaultMaxPerRun    = 500
	DefaultMaxPerHour   = 1000
)

// InvalidError names the field of a survey (or an answer) that is wrong and why.
type InvalidError struct {
	Field, Reason string

	// Format and Args are Reason before formatting, for a translation
	// keyed by the English format (the UI's catalog).
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// Survey is what is asked, of whom, how it is worded in each language and
// how often a contact may be asked.
type Survey struct {
	ID         string `json:"survey_id" doc:"A slug (lower-case letters, digits, _ and -, starting with a letter); the survey field of its responses."`
	Name       string `json:"name"`
	Kind       string `json:"kind" enum:"nps,csat,ces" doc:"nps (0–10), csat (1–5) or ces (1–7)."`
	QuestionEN string `json:"question_en"`
	QuestionJA string `json:"question_ja,omitempty"`
	// The email templates (text/template) see .Name (the contact's),
	// .Account, .Survey, .Question, .Link and .UnsubscribeLink.
	SubjectEN string `json:"subject_en"`
	BodyEN    string `json:"body_en" doc:"Must contain {{.Link}}; an unsubscribe line is always appended."`
	SubjectJA string `json:"subject_ja,omitempty"`
	BodyJA    string `json:"body_ja,omitempty"`
	Language  string `json:"language" enum:"en,ja" doc:"The language of contacts without a language attribute."`
	SegmentID string `json:"segment_id,omitempty" doc:"Only the contacts of this segment's accounts; empty: every account's contacts."`
	// ThrottleDays: a contact asked any survey within this many days is
	// not asked again.
	ThrottleDays    int       `json:"throttle_days"`
	MaxPerRun       int       `json:"max_per_run" doc:"At most this many emails per send; the rest wait for the next send."`
	MaxPerHour      int       `json:"max_per_hour" doc:"At most this many survey emails (of every survey) in any hour."`
	PublicLink      bool      `json:"public_link" doc:"Whether the survey has an anonymous public link."`
	Status          string    `json:"status" enum:"active,closed"`
	CreatedBy       string    `json:"created_by,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	publicTokenHash sql.NullString
}

var surveySlug = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// EmailData is what a survey's subject and body templates see.
type EmailData struct {
	Name, Account, Survey, Question, Link, UnsubscribeLink string
}

// sampleData checks templates: its link must appear in a rendered body.
var sampleData = EmailData{Name: "Kei Tanaka", Account: "Acme", Survey: "Survey", Question: "Question",
	Link: "https://kizuna.example/s/sample", UnsubscribeLink: "https://kizuna.example/s/sample/unsubscribe"}

func parseTemplate(field, src string) (*template.Template, error) {
	t, err := template.New(field).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, invalid(field, "the template does not parse: %v", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, sampleData); err != nil {
		return nil, invalid(field, "the template fails on a sample contact: %v (fields: .Name .Account .Survey .Question .Link .UnsubscribeLink)", err)
	}
	return t, nil
}

// Validate fills a survey's defaults and checks its fields, returning an
// *InvalidError naming the first bad field.
func Validate(s *Survey) error {
	if s.Kind == "" {
		s.Kind = "nps"
	}
	if s.Language == "" {
		s.Language = "en"
	}
	if s.Status == "" {
		s.Status = StatusActive
	}
	if s.ThrottleDays == 0 {
		s.ThrottleDays = DefaultThrottleDays
	}
	if s.MaxPerRun == 0 {
		s.MaxPerRun = DefaultMaxPerRun
	}
	if s.MaxPerHour == 0 {
		s.MaxPerHour = DefaultMaxPerHour
	}
	if strings.TrimSpace(s.Name) == "" {
		s.Name = s.ID
	}
	switch {
	case !surveySlug.MatchString(s.ID):
		return invalid("survey_id", "%q: want lower-case letters, digits, _ and -, starting with a letter, at most 63 characters", s.ID)
	case ScoreRange[s.Kind] == [2]int{}:
		return invalid("kind", "%q is not one of nps, csat, ces", s.Kind)
	case s.Language != "en" && s.Language != "ja":
		return invalid("language", "%q is not en or ja", s.Language)
	case s.Status != StatusActive && s.Status != StatusClosed:
		return invalid("status", "%q is not active or closed", s.Status)
	case strings.TrimSpace(s.QuestionEN) == "":
		return invalid("question_en", "required: the question in English")
	case strings.TrimSpace(s.SubjectEN) == "":
		return invalid("subject_en", "required: the email's subject in English")
	case s.ThrottleDays < 0 || s.ThrottleDays > 3650:
		return invalid("throttle_days", "%d is not from 0 to 3650", s.ThrottleDays)
	case s.MaxPerRun < 0 || s.MaxPerHour < 0:
		return invalid("max_per_run", "the limits may not be negative")
	case (s.SubjectJA == "") != (s.BodyJA == ""):
		return invalid("body_ja", "give both the Japanese subject and body, or neither (English is used)")
	}
	for _, f := range []struct{ field, src string }{{"subject_en", s.SubjectEN}, {"subject_ja", s.SubjectJA}} {
		if _, err := parseTemplate(f.field, f.src); err != nil {
			return err
		}
	}
	for _, f := range []struct{ field, src string }{{"body_en", s.BodyEN}, {"body_ja", s.BodyJA}} {
		if f.src == "" && f.field == "body_ja" {
			continue
		}
		t, err := parseTemplate(f.field, f.src)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		t.Execute(&buf, sampleData) // parseTemplate ran it without error
		if !strings.Contains(buf.String(), sampleData.Link) {
			return invalid(f.field, "must contain {{.Link}}, the contact's response link")
		}
	}
	return nil
}

const surveyColumns = `survey_id, name, kind, question_en, question_ja, subject_en, body_en, subject_ja, body_ja, language,
	segment_id, throttle_days, max_per_run, max_per_hour, public_token_hash, status, created_by, created_at, updated_at`

func scanSurvey(sc interface{ Scan(...any) error }) (Survey, error) {
	var s Survey
	var created, updated int64
	err := sc.Scan(&s.ID, &s.Name, &s.Kind, &s.QuestionEN, &s.QuestionJA, &s.SubjectEN, &s.BodyEN, &s.SubjectJA, &s.BodyJA,
		&s.Language, &s.SegmentID, &s.ThrottleDays, &s.MaxPerRun, &s.MaxPerHour, &s.publicTokenHash, &s.Status, &s.CreatedBy,
		&created, &updated)
	s.PublicLink = s.publicTokenHash.Valid
	s.CreatedAt, s.UpdatedAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	return s, err
}

// Get returns one survey, or ErrNotFound.
func Get(ctx context.Context, q store.Querier, id string) (Survey, error) {
	s, err := scanSurvey(q.QueryRowContext(ctx, `SELECT `+surveyColumns+` FROM surveys WHERE survey_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("survey %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("get survey %s: %w", id, err)
	}
	return s, nil
}

// List returns every survey by id.
func List(ctx context.Context, q store.Querier) ([]Survey, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+surveyColumns+` FROM surveys ORDER BY survey_id`)
	if err != nil {
		return nil, fmt.Errorf("list surveys: %w", err)
	}
	out, err := store.Collect(rows, scanSurvey)
	if err != nil {
		return nil, fmt.Errorf("list surveys: %w", err)
	}
	return out, nil
}

// Create validates and stores a new survey; ErrExists when its id is taken.
func Create(ctx context.Context, q store.Querier, s Survey, now time.Time) (Survey, error) {
	if err := Validate(&s); err != nil {
		return s, err
	}
	if _, err := Get(ctx, q, s.ID); err == nil {
		return s, fmt.Errorf("survey %s: %w", s.ID, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return s, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO surveys (survey_id, name, kind, question_en, question_ja, subject_en, body_en,
			subject_ja, body_ja, language, segment_id, throttle_days, max_per_run, max_per_hour, status, created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)`,
		s.ID, s.Name, s.Kind, s.QuestionEN, s.QuestionJA, s.SubjectEN, s.BodyEN, s.SubjectJA, s.BodyJA, s.Language, s.SegmentID,
		s.ThrottleDays, s.MaxPerRun, s.MaxPerHour, s.Status, s.CreatedBy, now.Unix()); err != nil {
		return s, fmt.Errorf("create survey %s: %w", s.ID, err)
	}
	return Get(ctx, q, s.ID)
}

// Update validates and replaces a survey's fields (not its id, kind,
// creator or public link: responses already given keep their meaning).
func Update(ctx context.Context, q store.Querier, s Survey, now time.Time) (before, after Survey, _ error) {
	before, err := Get(ctx, q, s.ID)
	if err != nil {
		return before, before, err
	}
	if s.Kind != "" && s.Kind != before.Kind {
		return before, before, invalid("kind", "a survey's kind cannot change (%s): create another survey", before.Kind)
	}
	s.Kind = before.Kind
	if err := Validate(&s); err != nil {
		return before, before, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE surveys SET name = $2, question_en = $3, question_ja = $4, subject_en = $5,
			body_en = $6, subject_ja = $7, body_ja = $8, language = $9, segment_id = $10, throttle_days = $11, max_per_run = $12,
			max_per_hour = $13, status = $14, updated_at = $15 WHERE survey_id = $1`,
		s.ID, s.Name, s.QuestionEN, s.QuestionJA, s.SubjectEN, s.BodyEN, s.SubjectJA, s.BodyJA, s.Language, s.SegmentID,
		s.ThrottleDays, s.MaxPerRun, s.MaxPerHour, s.Status, now.Unix()); err != nil {
		return before, before, fmt.Errorf("update survey %s: %w", s.ID, err)
	}
	after, err = Get(ctx, q, s.ID)
	return before, after, err
}

// Token prefixes: a contact's response link, a survey's public link.
const (
	ContactTokenPrefix = "sv_"
	PublicTokenPrefix  = "svp_"
)

// tokenBytes is a token's randomness: 256 bits, far beyond guessing.
const tokenBytes = 32

// hashToken is what is stored of a token: its SHA-256 in hex (a token is
// random, so a fast hash is enough).
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenEncoding writes a token's random bytes in lower-case base32.
var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newToken(prefix string) string {
	var b [tokenBytes]byte
	rand.Read(b[:]) // never fails
	return prefix + strings.ToLower(tokenEncoding.EncodeToString(b[:]))
}

// validToken reports whether s looks like a token of prefix (lower-case
// base32 of tokenBytes), so that garbage is refused without a query.
func validToken(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || rest != strings.ToLower(rest) {
		return false
	}
	b, err := tokenEncoding.DecodeString(strings.ToUpper(rest))
	return err == nil && len(b) == tokenBytes
}

// NewPublicLink gives the survey a new anonymous public link token (the
// previous one stops working) and returns it: only its hash is kept, so
// this is the only time it is seen.
func NewPublicLink(ctx context.Context, q store.Querier, id string, now time.Time) (string, error) {
	token := newToken(PublicTokenPrefix)
	res, err := q.ExecContext(ctx, `UPDATE surveys SET public_token_hash = $2, updated_at = $3 WHERE survey_id = $1`,
		id, hashToken(token), now.Unix())
	if err != nil {
		return "", fmt.Errorf("public link of survey %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", fmt.Errorf("survey %s: %w", id, ErrNotFound)
	}
	return token, nil
}

// RevokePublicLink removes the survey's public link.
func RevokePublicLink(ctx context.Context, q store.Querier, id string, now time.Time) error {
	res, err := q.ExecContext(ctx, `UPDATE surveys SET public_token_hash = NULL, updated_at = $2 WHERE survey_id = $1`, id, now.Unix())
	if err != nil {
		return fmt.Errorf("revoke public link of survey %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("survey %s: %w", id, ErrNotFound)
	}
	return nil
}

// ByPublicToken returns the survey whose public link token is token, or ErrNotFound.
func ByPublicToken(ctx context.Context, q store.Querier, token string) (Survey, error) {
	if !validToken(token, PublicTokenPrefix) {
		return Survey{}, ErrNotFound
	}
	s, err := scanSurvey(q.QueryRowContext(ctx, `SELECT `+surveyColumns+` FROM surveys WHERE public_token_hash = $1`, hashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("resolve public survey token: %w", err)
	}
	return s, nil
}

// Question is the survey's question in lang (English when it has no
// Japanese wording).
func (s Survey) Question(lang string) string {
	if lang == "ja" && s.QuestionJA != "" {
		return s.QuestionJA
	}
	return s.QuestionEN
}

// Summary is how a survey is doing.
type Summary struct {
	Sends        int      `json:"sends" doc:"Emails queued."`
	Asked        int      `json:"asked" doc:"Distinct contacts emailed."`
	Responses    int      `json:"responses" doc:"Responses, by email link or public link."`
	ResponseRate *float64 `json:"response_rate,omitempty" doc:"Contacts emailed who answered ÷ contacts emailed."`
	Score        *float64 `json:"score,omitempty" doc:"NPS (−100…100), CSAT (share of 4–5) or CES (mean), by the survey's kind."`
}

// Summarize counts a survey's sends and responses and computes its score.
func Summarize(ctx context.Context, q store.Querier, s Survey) (Summary, error) {
	var sum Summary
	var answered int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT contact_id),
			COUNT(DISTINCT CASE WHEN responded_at IS NOT NULL THEN contact_id END)
		FROM survey_sends WHERE survey_id = $1`, s.ID).Scan(&sum.Sends, &sum.Asked, &answered); err != nil {
		return sum, fmt.Errorf("summarize survey %s: %w", s.ID, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT score FROM survey_responses WHERE survey = $1`, s.ID)
	if err != nil {
		return sum, fmt.Errorf("summarize survey %s: %w", s.ID, err)
	}
	scores, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (int, error) {
		var v int
		return v, sc.Scan(&v)
	})
	if err != nil {
		return sum, fmt.Errorf("summarize survey %s: %w", s.ID, err)
	}
	sum.Responses = len(scores)
	if sum.Asked > 0 {
		rate := float64(answered) / float64(sum.Asked)
		sum.ResponseRate = &rate
	}
	v, ok := KindScore(s.Kind, scores)
	if ok {
		sum.Score = &v
	}
	return sum, nil
}
