package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// SMTP is how emails are sent.
type SMTP struct {
	Host     string
	Port     int
	Username string
	Password string // never logged nor shown; String masks it
	// TLS is implicit TLS from the first byte (smtps://); otherwise STARTTLS
	// is used when the server offers it.
	TLS  bool
	From string
	// TLSConfig, when set, replaces the system's TLS settings (a private CA).
	TLSConfig *tls.Config
}

// String describes the server without the password, for logs.
func (s SMTP) String() string {
	u := url.URL{Scheme: "smtp", Host: s.Host + ":" + strconv.Itoa(s.Port)}
	if s.TLS {
		u.Scheme = "smtps"
	}
	if s.Username != "" {
		u.User = url.User(s.Username)
	}
	return u.String()
}

// ParseSMTPURL reads smtp://user:pass@host:port or smtps://… (port default
// 587 for smtp, 465 for smtps).
func ParseSMTPURL(raw, from string) (SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTP{}, errors.New("KIZUNA_SMTP_URL: not a URL (want smtp://user:password@host:port or smtps://…)")
	}
	s := SMTP{Host: u.Hostname(), From: from}
	switch u.Scheme {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.Port, s.TLS = 465, true
	default:
		return SMTP{}, fmt.Errorf("KIZUNA_SMTP_URL: scheme %q: want smtp or smtps", u.Scheme)
	}
	if s.Host == "" {
		return SMTP{}, errors.New("KIZUNA_SMTP_URL: no host")
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port <= 0 || s.Port > 65535 {
			return SMTP{}, fmt.Errorf("KIZUNA_SMTP_URL: port %q is not a port number", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if strings.TrimSpace(from) == "" {
		return SMTP{}, errors.New("KIZUNA_SMTP_FROM: required with KIZUNA_SMTP_URL (the sender address)")
	}
	return s, nil
}

// Config is what Deliver needs.
type Config struct {
	// SMTP is nil when no server is configured: emails then fail (and are
	// retried) with an error saying so.
	SMTP *SMTP
	// HTTP posts webhooks and Slack messages; nil: a client with Timeout.
	HTTP *http.Client
	// Timeout bounds one attempt; default 10 s.
	Timeout time.Duration
	// MaxAttempts is after how many failed attempts a delivery is dead; default 8.
	MaxAttempts int
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// ConfigFromEnv reads KIZUNA_SMTP_URL and KIZUNA_SMTP_FROM.
func ConfigFromEnv() (Config, error) {
	var cfg Config
	if raw := os.Getenv("KIZUNA_SMTP_URL"); raw != "" {
		s, err := ParseSMTPURL(raw, os.Getenv("KIZUNA_SMTP_FROM"))
		if err != nil {
			return cfg, err
		}
		cfg.SMTP = &s
	}
	return cfg, nil
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 10 * time.Second
}

func (c Config) maxAttempts() int {
	if c.MaxAttempts > 0 {
		return c.MaxAttempts
	}
	return 8
}

// Backoff is the wait before attempt n+1 after n failed attempts: 30 s
// doubling, at most 6 hours.
func Backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// Deliver makes one attempt to send delivery id and records it: sent, or
// failed with the error, the attempt count and when the next attempt is
// due, or dead after cfg.MaxAttempts. It returns the attempt's error, so a
// job queue retries; a delivery already sent or dead is left alone (nil).
func Deliver(ctx context.Context, db *store.DB, cfg Config, id string) error {
	d, err := Get(ctx, db, id)
	if err != nil {
		return err
	}
	if d.Status == StatusSent || d.Status == StatusDead {
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, cfg.timeout())
	sendErr := send(actx, cfg, d)
	cancel()
	now := cfg.now()
	attempts := d.Attempts + 1
	if sendErr == nil {
		_, err = db.ExecContext(ctx, `UPDATE deliveries SET status = 'sent', attempts = $2, last_error = '',
			last_attempt_at = $3, next_attempt_at = NULL, sent_at = $3 WHERE delivery_id = $1`, id, attempts, now.Unix())
		if err != nil {
			return fmt.Errorf("deliver %s: record success: %w", id, err)
		}
		return nil
	}
	status, next := StatusFailed, any(now.Add(Backoff(attempts)).Unix())
	if attempts >= cfg.maxAttempts() {
		status, next = StatusDead, nil
	}
	msg := sendErr.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	_, err = db.ExecContext(ctx, `UPDATE deliveries SET status = $2, attempts = $3, last_error = $4, last_attempt_at = $5,
		next_attempt_at = $6 WHERE delivery_id = $1`, id, status, attempts, msg, now.Unix(), next)
	if err != nil {
		return fmt.Errorf("deliver %s: record failure (%v): %w", id, sendErr, err)
	}
	return fmt.Errorf("deliver %s (%s, attempt %d): %w", id, d.Kind, attempts, sendErr)
}

func send(ctx context.Context, cfg Config, d Delivery) error {
	switch d.Kind {
	case KindEmail:
		return sendEmail(ctx, cfg, d)
	case KindWebhook, KindSlack:
		return post(ctx, cfg, d)
	}
	return fmt.Errorf("unknown delivery kind %q", d.Kind)
}

func sendEmail(ctx context.Context, cfg Config, d Delivery) error {
	s := cfg.SMTP
	if s == nil {
		return errors.New("no SMTP server configured (set KIZUNA_SMTP_URL and KIZUNA_SMTP_FROM)")
	}
	m := mail.NewMsg()
	if err := m.From(s.From); err != nil {
		return fmt.Errorf("sender %q: %w", s.From, err)
	}
	var to []string
	for _, r := range strings.Split(d.Target, ",") {
		if r = strings.TrimSpace(r); r != "" {
			to = append(to, r)
		}
	}
	if err := m.To(to...); err != nil {
		return fmt.Errorf("recipients %q: %w", d.Target, err)
	}
	m.Subject(d.Subject)
	for k, v := range d.Headers {
		m.SetGenHeader(mail.Header(k), v)
	}
	m.SetBodyString(mail.TypeTextPlain, d.Body)
	// WithTLSPolicy, not WithTLSPortPolicy: keep the configured port, never fall back to port 25 in the clear.
	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTimeout(cfg.timeout()), mail.WithTLSPolicy(mail.TLSOpportunistic)}
	if s.TLS {
		opts = append(opts, mail.WithSSL())
	}
	if s.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(s.TLSConfig))
	}
	// Autodiscovery picks the strongest mechanism the server offers and
	// never sends a password in the clear over an unencrypted connection.
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client for %s: %w", s, err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		msg := err.Error()
		if s.Password != "" {
			msg = strings.ReplaceAll(msg, s.Password, "****")
		}
		return fmt.Errorf("send via %s: %s", s, msg)
	}
	return nil
}

func post(ctx context.Context, cfg Config, d Delivery) error {
	body := []byte(d.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request to %s: %w", MaskURL(d.Target, d.Kind == KindSlack), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kizuna-Webhook/1")
	if d.Kind == KindWebhook {
		req.Header.Set(SignatureHeader, Sign(d.Secret, cfg.now(), body))
	}
	client := cfg.HTTP
	if client == nil {
		client = &http.Client{Timeout: cfg.timeout()}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The error quotes the URL: mask it, Slack's carries its token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", MaskURL(d.Target, d.Kind == KindSlack), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post to %s: HTTP %d: %s", MaskURL(d.Target, d.Kind == KindSlack), resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return nil
}
