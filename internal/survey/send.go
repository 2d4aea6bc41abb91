package survey

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// SendOptions configure [Send].
type SendOptions struct {
	// BaseURL is where the server is reached from the contacts' mailboxes
	// (https://cs.example.com): the links in the email start with it.
	BaseURL string
	// DryRun counts what a send would do and writes nothing.
	DryRun bool
}

// SendResult is what one send did (or, dry, would do).
type SendResult struct {
	SurveyID            string   `json:"survey_id"`
	DryRun              bool     `json:"dry_run,omitempty"`
	Contacts            int      `json:"contacts" doc:"Contacts of the target accounts."`
	Sent                int      `json:"sent" doc:"Emails queued (one per contact)."`
	SkippedNoEmail      int      `json:"skipped_no_email"`
	SkippedUnsubscribed int      `json:"skipped_unsubscribed"`
	SkippedThrottled    int      `json:"skipped_throttled" doc:"Asked a survey within the survey's throttle_days."`
	SkippedResponded    int      `json:"skipped_responded" doc:"Already answered this survey."`
	SkippedDuplicate    int      `json:"skipped_duplicate" doc:"Shares an email address with a contact asked in this send."`
	Deferred            int      `json:"deferred" doc:"Eligible but over max_per_run or max_per_hour: a later send asks them."`
	DeliveryIDs         []string `json:"delivery_ids,omitempty" doc:"The queued emails (GET /api/v1/deliveries)."`
}

// ResponseID is the id of a contact's response to a survey: one per contact
// per survey, so answering again replaces the answer.
func ResponseID(surveyID, contactID string) string { return "sv_" + surveyID + "_" + contactID }

type recipient struct {
	contactID, accountID, email, name, account, language string
}

// recipients lists the contacts of the survey's target accounts, by id,
// with their language attribute.
func recipients(ctx context.Context, q store.Querier, s Survey) ([]recipient, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.contact_id, c.account_id, c.email, c.name, a.name,
			COALESCE((SELECT ca.value FROM contact_attributes ca WHERE ca.contact_id = c.contact_id AND ca.name = 'language'), '')
		FROM contacts c JOIN accounts a ON a.account_id = c.account_id
		WHERE $1 = '' OR c.account_id IN (SELECT m.account_id FROM segment_members m WHERE m.segment_id = $1)
		ORDER BY c.contact_id`, s.SegmentID)
	if err != nil {
		return nil, fmt.Errorf("recipients of survey %s: %w", s.ID, err)
	}
	out, err := store.Collect(rows, func(sc interface{ Scan(...any) error }) (recipient, error) {
		var r recipient
		err := sc.Scan(&r.contactID, &r.accountID, &r.email, &r.name, &r.account, &r.language)
		r.email = strings.TrimSpace(r.email)
		r.language = strings.ToLower(strings.TrimSpace(r.language))
		if r.language != "en" && r.language != "ja" {
			r.language = s.Language
		}
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("recipients of survey %s: %w", s.ID, err)
	}
	return out, nil
}

// stringSet runs a one-column query into a set.
func stringSet(ctx context.Context, q store.Querier, query string, args ...any) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		set[v] = true
	}
	return set, rows.Err()
}

const day = 24 * time.Hour

// Send queues one email per eligible contact of the survey's target
// accounts, each with its own response link, in q (a transaction: the
// deliveries and the sends commit together). A contact is skipped without
// an email address, when unsubscribed, when asked any survey within the
// survey's throttle_days, when it has answered this survey, or when another
// contact of this send has its address; past max_per_run emails in this
// send, or max_per_hour survey emails in the last hour, the rest are
// deferred. The emails are pending deliveries: the job queue sends them.
func Send(ctx context.Context, q store.Querier, id string, o SendOptions, now time.Time) (SendResult, error) {
	res := SendResult{SurveyID: id, DryRun: o.DryRun}
	s, err := Get(ctx, q, id)
	if err != nil {
		return res, err
	}
	if s.Status != StatusActive {
		return res, fmt.Errorf("send survey %s: %w", id, ErrClosed)
	}
	base, err := baseURL(o.BaseURL)
	if err != nil {
		return res, err
	}
	tmpl, err := s.templates()
	if err != nil {
		return res, err
	}
	rs, err := recipients(ctx, q, s)
	if err != nil {
		return res, err
	}
	unsubscribed, err := stringSet(ctx, q, `SELECT email FROM survey_unsubscribes`)
	if err != nil {
		return res, fmt.Errorf("send survey %s: unsubscribed: %w", id, err)
	}
	// By contact and by address: two contacts sharing one are one person.
	throttled, err := stringSet(ctx, q, `SELECT contact_id FROM survey_sends WHERE sent_at > $1
		UNION SELECT LOWER(email) FROM survey_sends WHERE sent_at > $1`, now.Add(-time.Duration(s.ThrottleDays)*day).Unix())
	if err != nil {
		return res, fmt.Errorf("send survey %s: recent sends: %w", id, err)
	}
	responded, err := stringSet(ctx, q, `SELECT contact_id FROM survey_responses WHERE survey = $1 AND contact_id <> ''`, id)
	if err != nil {
		return res, fmt.Errorf("send survey %s: responses: %w", id, err)
	}
	var lastHour int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_sends WHERE sent_at > $1`, now.Add(-time.Hour).Unix()).Scan(&lastHour); err != nil {
		return res, fmt.Errorf("send survey %s: sends in the last hour: %w", id, err)
	}
	room := max(0, min(s.MaxPerRun, s.MaxPerHour-lastHour))
	res.Contacts = len(rs)
	seen := map[string]bool{}
	var ds []notify.Delivery
	var sends [][]any
	for _, r := range rs {
		addr := strings.ToLower(r.email)
		switch {
		case addr == "":
			res.SkippedNoEmail++
			continue
		case unsubscribed[addr]:
			res.SkippedUnsubscribed++
			continue
		case responded[r.contactID]:
			res.SkippedResponded++
			continue
		case throttled[r.contactID] || throttled[addr]:
			res.SkippedThrottled++
			continue
		case seen[addr]:
			res.SkippedDuplicate++
			continue
		}
		seen[addr] = true
		if len(ds) >= room {
			res.Deferred++
			continue
		}
		token := newToken(ContactTokenPrefix)
		d, err := tmpl.email(s, r, base+"/s/"+token)
		if err != nil {
			return res, fmt.Errorf("send survey %s to %s: %w", id, r.contactID, err)
		}
		d.Secret, d.ID = token, store.NewID("d_")
		ds = append(ds, d)
		sends = append(sends, []any{store.NewID("ss_"), id, r.contactID, r.accountID, r.email, r.language, hashToken(token), d.ID, now.Unix(), nil})
	}
	res.Sent = len(ds)
	if o.DryRun || len(ds) == 0 {
		return res, nil
	}
	if res.DeliveryIDs, err = notify.Enqueue(ctx, q, ds, now); err != nil {
		return res, fmt.Errorf("send survey %s: %w", id, err)
	}
	if err := insertSends(ctx, q, sends); err != nil {
		return res, fmt.Errorf("send survey %s: %w", id, err)
	}
	return res, nil
}

func insertSends(ctx context.Context, q store.Querier, sends [][]any) error {
	const per = 10
	const chunk = 600 / per
	for start := 0; start < len(sends); start += chunk {
		part := sends[start:min(start+chunk, len(sends))]
		var b strings.Builder
		b.WriteString(`INSERT INTO survey_sends (send_id, survey_id, contact_id, account_id, email, language, token_hash,
			delivery_id, sent_at, responded_at) VALUES `)
		args := make([]any, 0, len(part)*per)
		for i, row := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(" + store.Placeholders(len(args)+1, per) + ")")
			args = append(args, row...)
		}
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("record %d sends: %w", len(part), err)
		}
	}
	return nil
}

// PastSend is a survey email sent earlier, as the demo (or a move from
// another tool) records it.
type PastSend struct {
	ID                                              string // empty: a new one
	SurveyID, ContactID, AccountID, Email, Language string
	SentAt                                          time.Time
	RespondedAt                                     *time.Time // nil: not answered
}

// RecordSends stores past sends, without emails. Each gets a new random
// token of which only the hash is kept, as for a real send; nobody holds
// the token, so their links cannot be answered.
func RecordSends(ctx context.Context, q store.Querier, list []PastSend) error {
	rows := make([][]any, len(list))
	for i, p := range list {
		var responded any
		if p.RespondedAt != nil {
			responded = p.RespondedAt.Unix()
		}
		if p.ID == "" {
			p.ID = store.NewID("ss_")
		}
		rows[i] = []any{p.ID, p.SurveyID, p.ContactID, p.AccountID, p.Email, p.Language,
			hashToken(newToken(ContactTokenPrefix)), "", p.SentAt.Unix(), responded}
	}
	if err := insertSends(ctx, q, rows); err != nil {
		return fmt.Errorf("record past survey sends: %w", err)
	}
	return nil
}

// baseURL checks the server's public address.
func baseURL(raw string) (string, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return "", invalid("base_url", "%q: want the server's public address, such as https://cs.example.com (or set KIZUNA_PUBLIC_URL)", raw)
	}
	return raw, nil
}

// surveyTemplates are a survey's parsed email templates by language.
type surveyTemplates map[string][2]*template.Template

func (s Survey) templates() (surveyTemplates, error) {
	out := surveyTemplates{}
	for lang, src := range map[string][2]string{"en": {s.SubjectEN, s.BodyEN}, "ja": {s.SubjectJA, s.BodyJA}} {
		if src[1] == "" {
			continue
		}
		subject, err := parseTemplate("subject_"+lang, src[0])
		if err != nil {
			return nil, err
		}
		body, err := parseTemplate("body_"+lang, src[1])
		if err != nil {
			return nil, err
		}
		out[lang] = [2]*template.Template{subject, body}
	}
	return out, nil
}

// footers end every survey email in its language: how to stop them.
var footers = map[string]string{
	"en": "\n\n--\nYou receive this survey as a contact of %s. To receive no more surveys: %s\n",
	"ja": "\n\n--\n%s のご担当者様としてお送りしています。今後アンケートの配信を希望されない場合: %s\n",
}

// email renders the survey email to r with its response link.
func (t surveyTemplates) email(s Survey, r recipient, link string) (notify.Delivery, error) {
	lang := r.language
	if _, ok := t[lang]; !ok {
		lang = "en"
	}
	data := EmailData{Name: r.name, Account: r.account, Survey: s.Name, Question: s.Question(lang), Link: link,
		UnsubscribeLink: link + "/unsubscribe"}
	if data.Name == "" {
		data.Name = r.email
	}
	var subject, body bytes.Buffer
	if err := t[lang][0].Execute(&subject, data); err != nil {
		return notify.Delivery{}, err
	}
	if err := t[lang][1].Execute(&body, data); err != nil {
		return notify.Delivery{}, err
	}
	fmt.Fprintf(&body, footers[lang], r.account, data.UnsubscribeLink)
	return notify.Delivery{Kind: notify.KindEmail, Target: r.email, AccountID: r.accountID,
		Subject: strings.Join(strings.Fields(subject.String()), " "), Body: body.String(),
		// RFC 8058 one-click: a mail client POSTs List-Unsubscribe=One-Click to the URL.
		Headers: map[string]string{"List-Unsubscribe": "<" + data.UnsubscribeLink + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}, nil
}
