// Package notify delivers what playbooks send: emails over SMTP, signed
// webhooks and Slack-compatible messages. Deliveries are rows of an outbox
// (table deliveries) written in the transaction that decided to send them,
// so none is lost or sent twice by a rolled-back recompute. [Deliver] makes
// one attempt and records it; retrying with backoff is the job queue's work.
package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Kinds of delivery.
const (
	KindEmail   = "email"
	KindWebhook = "webhook"
	KindSlack   = "slack"
)

// States of a delivery.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed" // the last attempt failed; another is due at next_attempt_at
	StatusDead    = "dead"   // given up after the maximum number of attempts
)

// Statuses lists the states.
var Statuses = []string{StatusPending, StatusSent, StatusFailed, StatusDead}

// SignatureHeader is the header carrying a webhook's signature.
const SignatureHeader = "Kizuna-Signature"

// ErrNotFound is returned for a delivery that does not exist.
var ErrNotFound = errors.New("delivery not found")

// Delivery is one message to send.
type Delivery struct {
	ID            string     `json:"delivery_id"`
	Kind          string     `json:"kind" enum:"email,webhook,slack"`
	Target        string     `json:"target" doc:"Recipients (email, comma-separated) or the URL; Slack URLs and URL credentials are masked."`
	Subject       string     `json:"subject,omitempty"`
	Body          string     `json:"body" doc:"The email's text or the JSON posted."`
	Secret        string     `json:"-"` // the webhook's signing secret, or a token an email carries: never shown
	Status        string     `json:"status" enum:"pending,sent,failed,dead"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	PlaybookID    string     `json:"playbook_id,omitempty"`
	AccountID     string     `json:"account_id,omitempty"`
	// Headers are extra headers of an email (a survey's List-Unsubscribe).
	Headers map[string]string `json:"headers,omitempty"`
}

// Masked returns d as the API shows it: a Slack URL (which is itself the
// credential) reduced to its host, and a password in a URL hidden.
func (d Delivery) Masked() Delivery {
	// An email's secret is a token its body carries (a survey's response
	// link): the outbox may show the email but not let its reader answer.
	if d.Secret != "" && d.Kind == KindEmail {
		d.Body = strings.ReplaceAll(d.Body, d.Secret, "…")
		h := make(map[string]string, len(d.Headers))
		for k, v := range d.Headers {
			h[k] = strings.ReplaceAll(v, d.Secret, "…")
		}
		d.Headers = h
	}
	d.Secret = ""
	if d.Kind != KindEmail {
		d.Target = MaskURL(d.Target, d.Kind == KindSlack)
	}
	return d
}

// MaskURL hides the credentials of a URL: its password, and with whole
// its path and query (Slack incoming-webhook URLs carry the token in the path).
func MaskURL(raw string, whole bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	if whole {
		return u.Scheme + "://" + u.Host + "/…"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

const columns = `delivery_id, kind, target, subject, body, secret, status, attempts, last_error, last_attempt_at,
	next_attempt_at, created_at, sent_at, playbook_id, account_id, headers`

func scan(row interface{ Scan(...any) error }) (Delivery, error) {
	var (
		d                 Delivery
		last, next, sent  sql.NullInt64
		created           int64
		playbook, account sql.NullString
		headers           string
	)
	err := row.Scan(&d.ID, &d.Kind, &d.Target, &d.Subject, &d.Body, &d.Secret, &d.Status, &d.Attempts, &d.LastError,
		&last, &next, &created, &sent, &playbook, &account, &headers)
	if err == nil && headers != "" {
		if jerr := json.Unmarshal([]byte(headers), &d.Headers); jerr != nil {
			err = fmt.Errorf("delivery %s: headers: %w", d.ID, jerr)
		}
	}
	d.LastAttemptAt, d.NextAttemptAt, d.SentAt = unixPtr(last), unixPtr(next), unixPtr(sent)
	d.CreatedAt = time.Unix(created, 0).UTC()
	d.PlaybookID, d.AccountID = playbook.String, account.String
	return d, err
}

func unixPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(v.Int64, 0).UTC()
	return &t
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Enqueue writes pending deliveries (ids filled in when empty) in
// multi-row INSERTs, and returns their ids.
func Enqueue(ctx context.Context, q store.Querier, ds []Delivery, now time.Time) ([]string, error) {
	const per = 16
	// Sized when SQLite looked each $N up by name, quadratic in a
	// statement's variables; store now numbers them positionally.
	const chunk = 600 / per
	ids := make([]string, 0, len(ds))
	for start := 0; start < len(ds); start += chunk {
		part := ds[start:min(start+chunk, len(ds))]
		var b strings.Builder
		b.WriteString(`INSERT INTO deliveries (` + columns + `) VALUES `)
		args := make([]any, 0, len(part)*per)
		for i, d := range part {
			if d.ID == "" {
				d.ID = store.NewID("d_")
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.Placeholders(len(args)+1, per) + ")")
			headers := ""
			if len(d.Headers) > 0 {
				b, err := json.Marshal(d.Headers)
				if err != nil {
					return nil, fmt.Errorf("enqueue delivery %s: headers: %w", d.ID, err)
				}
				headers = string(b)
			}
			args = append(args, d.ID, d.Kind, d.Target, d.Subject, d.Body, d.Secret, StatusPending, 0, "", nil,
				now.Unix(), now.Unix(), nil, nullText(d.PlaybookID), nullText(d.AccountID), headers)
			ids = append(ids, d.ID)
		}
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return nil, fmt.Errorf("enqueue %d deliveries: %w", len(part), err)
		}
	}
	return ids, nil
}

// Get returns one delivery, with its secret (for sending; mask it for display).
func Get(ctx context.Context, q store.Querier, id string) (Delivery, error) {
	d, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM deliveries WHERE delivery_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return d, nil
}

// Filter selects deliveries for List.
type Filter struct {
	Status     string
	PlaybookID string
	AccountID  string
	// The page, newest first, after the cursor (created_at unix seconds and id).
	AfterKey any
	AfterID  string
	Limit    int
}

// List returns a page of deliveries, newest first.
func List(ctx context.Context, q store.Querier, f Filter) ([]Delivery, error) {
	var c store.Conditions
	if f.Status != "" {
		c.Add("status = $%d", f.Status)
	}
	if f.PlaybookID != "" {
		c.Add("playbook_id = $%d", f.PlaybookID)
	}
	if f.AccountID != "" {
		c.Add("account_id = $%d", f.AccountID)
	}
	page, args := c.Page("created_at", "delivery_id", true, f.AfterKey, f.AfterID, f.Limit)
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM deliveries`+page, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// Pending lists the ids of deliveries due at now (pending, or failed with
// their next attempt due), oldest first, for a poller that drives [Deliver]
// when no job queue does.
func Pending(ctx context.Context, q store.Querier, now time.Time, limit int) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT delivery_id FROM deliveries
		WHERE status IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
		ORDER BY next_attempt_at, delivery_id LIMIT $2`, now.Unix(), store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pending deliveries: %w", err)
	}
	ids, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("pending deliveries: %w", err)
	}
	return ids, nil
}

// Retry makes a failed or dead delivery pending again, due now; the
// attempt count is kept, so the history stays visible.
func Retry(ctx context.Context, q store.Querier, id string, now time.Time) (before, after Delivery, _ error) {
	before, err := Get(ctx, q, id)
	if err != nil {
		return before, before, err
	}
	if before.Status == StatusSent {
		return before, before, fmt.Errorf("retry delivery %s: %w", id, ErrAlreadySent)
	}
	if _, err := q.ExecContext(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = $2 WHERE delivery_id = $1`,
		id, now.Unix()); err != nil {
		return before, before, fmt.Errorf("retry delivery %s: %w", id, err)
	}
	after, err = Get(ctx, q, id)
	return before, after, err
}

// ErrAlreadySent is returned when retrying a delivery that was sent.
var ErrAlreadySent = errors.New("the delivery was sent already")

// MarkDead gives up on a delivery, keeping reason as its last error.
func MarkDead(ctx context.Context, q store.Querier, id, reason string) error {
	res, err := q.ExecContext(ctx, `UPDATE deliveries SET status = 'dead', next_attempt_at = NULL,
		last_error = CASE WHEN $2 = '' THEN last_error ELSE $2 END WHERE delivery_id = $1 AND status <> 'sent'`, id, reason)
	if err != nil {
		return fmt.Errorf("mark delivery %s dead: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mark delivery %s dead: %w (or it was sent)", id, ErrNotFound)
	}
	return nil
}

// Sign returns the Kizuna-Signature header value of body sent at t:
// t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>" keyed by secret>.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a Kizuna-Signature header against body and secret, and that
// its time is within tolerance of now (0: any time), as a receiver does.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("signature header %q: want t=<unix>,v1=<hex>", header)
	}
	if tolerance > 0 && now.Sub(time.Unix(unix, 0)).Abs() > tolerance {
		return fmt.Errorf("signature time %d is more than %s from now", unix, tolerance)
	}
	want := Sign(secret, time.Unix(unix, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return errors.New("signature does not match")
	}
	return nil
}
