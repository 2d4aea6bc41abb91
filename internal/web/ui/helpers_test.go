package ui_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
	"github.com/kizuna-cs/kizuna/internal/web"
)

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

// site is a running server on a fresh database with one user per role:
// admin@example.com, manager@…, csm@…, viewer@….
type site struct {
	*httptest.Server
	db  *store.DB
	log *strings.Builder
}

func newSite(t *testing.T, db *store.DB) *site {
	t.Helper()
	for _, role := range user.Roles {
		name := strings.ToUpper(role[:1]) + role[1:] + " User"
		if _, err := user.Create(context.Background(), db, role+"@example.com", name, role, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	logs := &strings.Builder{}
	srv := web.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &site{Server: ts, db: db, log: logs}
}

// browser is an HTTP client with a cookie jar, signed in as one user,
// that sends what a browser sends (Accept: text/html).
type browser struct {
	t    *testing.T
	site *site
	c    *http.Client
}

// anon is a client that has not signed in.
func (s *site) anon(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, site: s, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// as signs in as the user of role and returns the client.
func (s *site) as(t *testing.T, role string) *browser {
	t.Helper()
	b := s.anon(t)
	res := b.post("/login", url.Values{"email": {role + "@example.com"}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s = %d", role, res.StatusCode)
	}
	return b
}

// response is a finished request: status, headers and body.
type response struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	req.Header.Set("Accept", "text/html")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{StatusCode: res.StatusCode, Header: res.Header, Body: string(body)}
}

// get fetches a page.
func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.site.URL+path, nil)
	return b.do(req)
}

// post sends a form as the browser would (same origin).
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.site.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.site.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf returns the CSRF token the page at path puts in its forms.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	res := b.get(path)
	m := csrfRe.FindStringSubmatch(res.Body)
	if m == nil {
		b.t.Fatalf("GET %s (%d) has no CSRF field", path, res.StatusCode)
	}
	return m[1]
}

// submit posts a form with the CSRF token of the page at from.
func (b *browser) submit(from, path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf(from))
	return b.post(path, form)
}

// upload posts a multipart form to path as a browser does: the fields, the
// file content (named name) in the field "file", and the CSRF token csrf
// unless it is "".
func (b *browser) upload(path, csrf string, fields map[string]string, name, content string) response {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		b.t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.site.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.site.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// want fails unless res has status code and body holds every string.
func want(t *testing.T, what string, res response, code int, contains ...string) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s: status %d, want %d; body: %.600s", what, res.StatusCode, code, res.Body)
	}
	for _, s := range contains {
		if !strings.Contains(res.Body, s) {
			t.Errorf("%s: the page lacks %q", what, s)
		}
	}
}
