package notify_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// sink is an in-process SMTP server that keeps what it receives.
type sink struct {
	mu   sync.Mutex
	msgs []received
}

type received struct {
	tls  bool   // the message came over TLS
	user string // who authenticated, if anyone
	from string
	to   []string
	data []byte
}

type session struct {
	s    *sink
	conn *smtp.Conn
	cur  received
}

func (s *sink) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, conn: c}, nil }

// The sink offers AUTH PLAIN and accepts kei with the password pa55.
func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "kei" || pass != "pa55" {
			return errors.New("invalid credentials")
		}
		se.cur.user = user
		return nil
	}), nil
}
func (se *session) Reset()        { se.cur = received{} }
func (se *session) Logout() error { return nil }
func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.cur.from = from
	return nil
}
func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.cur.to = append(se.cur.to, to)
	return nil
}
func (se *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	se.cur.data = b
	_, se.cur.tls = se.conn.TLSConnectionState()
	se.s.mu.Lock()
	se.s.msgs = append(se.s.msgs, se.cur)
	se.s.mu.Unlock()
	return nil
}

func startSink(t *testing.T) (*sink, int) {
	t.Helper()
	return startSinkTLS(t, nil)
}

// startSinkTLS starts a sink offering STARTTLS with cfg (nil: no TLS).
func startSinkTLS(t *testing.T, cfg *tls.Config) (*sink, int) {
	t.Helper()
	k := &sink{}
	srv := smtp.NewServer(k)
	srv.Domain = "localhost"
	srv.TLSConfig = cfg
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return k, l.Addr().(*net.TCPAddr).Port
}

var at = time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC)

func enqueue(t *testing.T, db *store.DB, d notify.Delivery) string {
	t.Helper()
	ids, err := notify.Enqueue(context.Background(), db, []notify.Delivery{d}, at)
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func TestEmailReachesSMTPSink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k, port := startSink(t)
		cfg := notify.Config{SMTP: &notify.SMTP{Host: "127.0.0.1", Port: port, From: "cs@kizuna.example"}, Now: func() time.Time { return at }}
		id := enqueue(t, db, notify.Delivery{Kind: notify.KindEmail, Target: "kei@example.com, mia@example.com",
			Subject: "Acme turned red — 至急", Body: "Call Acme (ARR 12000) this week.\n"})
		if err := notify.Deliver(ctx, db, cfg, id); err != nil {
			t.Fatal(err)
		}
		if len(k.msgs) != 1 {
			t.Fatalf("the sink got %d messages, want 1", len(k.msgs))
		}
		m := k.msgs[0]
		if m.from != "cs@kizuna.example" || strings.Join(m.to, " ") != "kei@example.com mia@example.com" {
			t.Errorf("envelope from %s to %v", m.from, m.to)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(m.data)))
		if err != nil {
			t.Fatal(err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil || subject != "Acme turned red — 至急" {
			t.Errorf("subject %q (%v)", subject, err)
		}
		var body []byte
		if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body, err = io.ReadAll(quotedprintable.NewReader(msg.Body))
		} else {
			body, err = io.ReadAll(msg.Body)
		}
		if err != nil || strings.TrimSpace(strings.ReplaceAll(string(body), "\r\n", "\n")) != "Call Acme (ARR 12000) this week." {
			t.Errorf("body %q (%v)", body, err)
		}
		d, _ := notify.Get(ctx, db, id)
		if d.Status != notify.StatusSent || d.Attempts != 1 || d.SentAt == nil || !d.SentAt.Equal(at) {
			t.Errorf("after sending: %+v", d)
		}
		// A sent delivery is not sent again when the job runs twice.
		if err := notify.Deliver(ctx, db, cfg, id); err != nil || len(k.msgs) != 1 {
			t.Errorf("second Deliver: %v, %d messages", err, len(k.msgs))
		}
	})
}

// TestEmailHeadersAndToken: an email's extra headers reach the server, and
// a token it carries (its secret) is masked wherever the outbox shows it.
func TestEmailHeadersAndToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k, port := startSink(t)
		cfg := notify.Config{SMTP: &notify.SMTP{Host: "127.0.0.1", Port: port, From: "cs@kizuna.example"}, Now: func() time.Time { return at }}
		unsub := "<https://cs.example.com/s/sv_tok123/unsubscribe>"
		id := enqueue(t, db, notify.Delivery{Kind: notify.KindEmail, Target: "kei@example.com", Subject: "One question",
			Body: "Answer: https://cs.example.com/s/sv_tok123\n", Secret: "sv_tok123",
			Headers: map[string]string{"List-Unsubscribe": unsub, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}})
		d, err := notify.Get(ctx, db, id)
		if err != nil || d.Headers["List-Unsubscribe"] != unsub || d.Secret != "sv_tok123" {
			t.Fatalf("stored %+v %v", d, err)
		}
		m := d.Masked()
		if m.Body != "Answer: https://cs.example.com/s/…\n" || m.Headers["List-Unsubscribe"] != "<https://cs.example.com/s/…/unsubscribe>" || m.Secret != "" {
			t.Errorf("masked %q %v", m.Body, m.Headers)
		}
		if d.Headers["List-Unsubscribe"] != unsub {
			t.Error("masking changed the stored delivery's headers")
		}
		if err := notify.Deliver(ctx, db, cfg, id); err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(strings.NewReader(string(k.msgs[0].data)))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("List-Unsubscribe") != unsub || msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("headers sent: %v", msg.Header)
		}
	})
}

func TestEmailWithAuth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// The sink offers STARTTLS with httptest's certificate (for 127.0.0.1);
		// AUTH goes over the encrypted connection only.
		ts := httptest.NewTLSServer(http.NotFoundHandler())
		defer ts.Close()
		k, port := startSinkTLS(t, &tls.Config{Certificates: ts.TLS.Certificates})
		trust := &tls.Config{RootCAs: ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, ServerName: "127.0.0.1"}
		for _, tc := range []struct {
			pass   string
			sent   bool
			status string
		}{
			{"wrong", false, notify.StatusFailed},
			{"pa55", true, notify.StatusSent},
		} {
			s, err := notify.ParseSMTPURL(fmt.Sprintf("smtp://kei:%s@127.0.0.1:%d", tc.pass, port), "cs@kizuna.example")
			if err != nil {
				t.Fatal(err)
			}
			s.TLSConfig = trust
			id := enqueue(t, db, notify.Delivery{Kind: notify.KindEmail, Target: "kei@example.com", Subject: "hi", Body: "hello"})
			err = notify.Deliver(ctx, db, notify.Config{SMTP: &s}, id)
			if (err == nil) != tc.sent {
				t.Errorf("password %s: %v", tc.pass, err)
			}
			d, _ := notify.Get(ctx, db, id)
			if d.Status != tc.status || strings.Contains(d.LastError, "wrong") {
				t.Errorf("password %s: status %s, error %q (must not show the password)", tc.pass, d.Status, d.LastError)
			}
		}
		if len(k.msgs) != 1 || k.msgs[0].user != "kei" || !k.msgs[0].tls {
			t.Errorf("sink got %+v", k.msgs)
		}
	})
}

func TestWebhookSignatureVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var gotBody []byte
		var gotSig string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotBody, _ = io.ReadAll(r.Body)
			gotSig = r.Header.Get("Kizuna-Signature")
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		body := `{"playbook":{"id":"p1"},"account":{"account_id":"a"}}`
		id := enqueue(t, db, notify.Delivery{Kind: notify.KindWebhook, Target: srv.URL + "/hook", Body: body, Secret: "s3cret"})
		if err := notify.Deliver(ctx, db, notify.Config{Now: func() time.Time { return at }}, id); err != nil {
			t.Fatal(err)
		}
		if string(gotBody) != body {
			t.Errorf("body %q", gotBody)
		}
		// Verify by hand as a receiver would: HMAC-SHA256(secret, "1719748800." + body), hex.
		// 1719748800 is 2024-06-30T12:00:00Z.
		if !strings.HasPrefix(gotSig, "t=1719748800,v1=") {
			t.Fatalf("signature header %q", gotSig)
		}
		if err := notify.Verify("s3cret", gotSig, gotBody, at.Add(time.Minute), 5*time.Minute); err != nil {
			t.Errorf("verify: %v", err)
		}
		for _, tc := range []struct {
			name, secret, body string
			now                time.Time
		}{
			{"wrong secret", "other", body, at},
			{"tampered body", "s3cret", body + " ", at},
			{"too old", "s3cret", body, at.Add(time.Hour)},
		} {
			if err := notify.Verify(tc.secret, gotSig, []byte(tc.body), tc.now, 5*time.Minute); err == nil {
				t.Errorf("%s: verified", tc.name)
			}
		}
	})
}

func TestFailingEndpointIsRecorded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			http.Error(w, "upstream down", http.StatusBadGateway)
		}))
		defer srv.Close()
		id := enqueue(t, db, notify.Delivery{Kind: notify.KindSlack, Target: srv.URL + "/services/T0/B0/XYZTOKEN", Body: `{"text":"hi"}`})
		cfg := notify.Config{MaxAttempts: 3, Now: func() time.Time { return at }}
		for attempt := 1; attempt <= 3; attempt++ {
			err := notify.Deliver(ctx, db, cfg, id)
			if err == nil {
				t.Fatalf("attempt %d succeeded", attempt)
			}
			if strings.Contains(err.Error(), "XYZTOKEN") {
				t.Errorf("the error shows the Slack token: %v", err)
			}
			d, _ := notify.Get(ctx, db, id)
			wantStatus := notify.StatusFailed
			if attempt == 3 {
				wantStatus = notify.StatusDead
			}
			if d.Status != wantStatus || d.Attempts != attempt || !strings.Contains(d.LastError, "HTTP 502: upstream down") {
				t.Errorf("after attempt %d: status %s attempts %d error %q", attempt, d.Status, d.Attempts, d.LastError)
			}
			if attempt < 3 && (d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(at.Add(notify.Backoff(attempt)))) {
				t.Errorf("after attempt %d: next attempt %v", attempt, d.NextAttemptAt)
			}
		}
		// Dead: no more attempts, and no longer due.
		if err := notify.Deliver(ctx, db, cfg, id); err != nil || calls != 3 {
			t.Errorf("Deliver of a dead delivery: %v, %d calls", err, calls)
		}
		due, err := notify.Pending(ctx, db, at.Add(24*time.Hour), 0)
		if err != nil || len(due) != 0 {
			t.Errorf("pending = %v, %v", due, err)
		}
		if _, _, err := notify.Retry(ctx, db, id, at); err != nil {
			t.Fatal(err)
		}
		due, _ = notify.Pending(ctx, db, at, 0)
		if len(due) != 1 || due[0] != id {
			t.Errorf("after retry pending = %v", due)
		}
		d, _ := notify.Get(ctx, db, id)
		if m := d.Masked(); m.Target != strings.TrimPrefix(srv.URL, "")+"/…" {
			t.Errorf("masked target %q", m.Target)
		}
		if err := notify.Deliver(ctx, db, notify.Config{}, "nope"); !errors.Is(err, notify.ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url, from string
		want      notify.SMTP
		err       string
	}{
		{"smtp://kei:pa55@mail.example.com", "cs@x.com", notify.SMTP{Host: "mail.example.com", Port: 587, Username: "kei", Password: "pa55", From: "cs@x.com"}, ""},
		{"smtps://mail.example.com:2465", "cs@x.com", notify.SMTP{Host: "mail.example.com", Port: 2465, TLS: true, From: "cs@x.com"}, ""},
		{"http://mail.example.com", "cs@x.com", notify.SMTP{}, `scheme "http"`},
		{"smtp://mail.example.com:99999", "cs@x.com", notify.SMTP{}, "not a port"},
		{"smtp://mail.example.com", "", notify.SMTP{}, "KIZUNA_SMTP_FROM"},
	} {
		got, err := notify.ParseSMTPURL(tc.url, tc.from)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.url, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v", tc.url, got, err)
		}
		if strings.Contains(got.String(), "pa55") {
			t.Errorf("String shows the password: %s", got)
		}
	}
}

// TestSignKnownValue pins the signature to a value computed independently
// (Python's hmac, as in the README) for secret s3cret, t 1719748800, body {}.
func TestSignKnownValue(t *testing.T) {
	got := notify.Sign("s3cret", time.Unix(1719748800, 0), []byte("{}"))
	if want := "t=1719748800,v1=051f5043bbb6ccdf915d1c0b77864ba1828e3bdeb35d9f26d1d598a86e8114e8"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
