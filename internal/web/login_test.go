package web

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/session"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// postLogin signs in through the form and returns the response.
func postLogin(s *testServer, form url.Values, tlsConn bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if tlsConn {
		r.TLS = &tls.ConnectionState{}
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == session.CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", session.CookieName, w.Header().Values("Set-Cookie"))
	return nil
}

func TestLoginLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		good := url.Values{"email": {testEmail}, "password": {testPassword}}

		for _, tt := range []struct {
			name       string
			form       url.Values
			tls        bool
			secureOpt  bool
			wantSecure bool
			next, want string
		}{
			{name: "plain HTTP", form: good, want: "/"},
			{name: "TLS", form: good, tls: true, wantSecure: true, want: "/"},
			{name: "behind a TLS proxy", form: good, secureOpt: true, wantSecure: true, want: "/"},
			{name: "next is a local path", form: good, next: "/accounts/acc-1", want: "/accounts/acc-1"},
			{name: "next is another site", form: good, next: "//evil.example/", want: "/"},
			{name: "next is a URL", form: good, next: "https://evil.example/", want: "/"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s.opts.CookieSecure = tt.secureOpt
				defer func() { s.opts.CookieSecure = false }()
				form := url.Values{}
				for k, v := range tt.form {
					form[k] = v
				}
				if tt.next != "" {
					form.Set("next", tt.next)
				}
				w := postLogin(s, form, tt.tls)
				if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tt.want {
					t.Fatalf("login = %d to %q, want 303 to %q; body %s", w.Code, w.Header().Get("Location"), tt.want, w.Body)
				}
				c := sessionCookie(t, w)
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tt.wantSecure || c.Path != "/" || c.MaxAge <= 0 {
					t.Errorf("cookie = %+v: want HttpOnly, SameSite=Lax, Secure=%v, Path=/, a lifetime", c, tt.wantSecure)
				}
				if len(c.Value) < 43 {
					t.Errorf("token %q is shorter than 32 random bytes", c.Value)
				}

				// The session authenticates API calls...
				if w := s.do(t, request{target: "/api/v1/accounts", cookie: c}); w.Code != http.StatusOK {
					t.Fatalf("GET with the session = %d; body %s", w.Code, w.Body)
				}
				// ...and the database holds its hash only.
				var n int
				if err := db.QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, c.Value).Scan(&n); err != nil || n != 0 {
					t.Errorf("the token itself is stored (%d rows, %v)", n, err)
				}

				// Signing out ends it and clears the cookie.
				w = s.do(t, request{method: http.MethodPost, target: "/logout", cookie: c})
				if w.Code != http.StatusSeeOther {
					t.Fatalf("logout = %d; body %s", w.Code, w.Body)
				}
				if cleared := sessionCookie(t, w); cleared.MaxAge >= 0 || cleared.Value != "" {
					t.Errorf("logout cookie = %+v, want it expired", cleared)
				}
				if w := s.do(t, request{target: "/api/v1/accounts", cookie: c}); w.Code != http.StatusUnauthorized {
					t.Fatalf("GET with the ended session = %d, want 401", w.Code)
				}
			})
		}

		for _, tt := range []struct {
			name   string
			form   url.Values
			status int
		}{
			{"wrong password", url.Values{"email": {testEmail}, "password": {"nope nope nope"}}, http.StatusUnauthorized},
			{"unknown user", url.Values{"email": {"who@example.com"}, "password": {testPassword}}, http.StatusUnauthorized},
			{"no password", url.Values{"email": {testEmail}}, http.StatusBadRequest},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := postLogin(s, tt.form, false)
				checkProblem(t, w, tt.status)
				if len(w.Result().Cookies()) != 0 {
					t.Errorf("a failed login set cookies: %q", w.Header().Values("Set-Cookie"))
				}
			})
		}

		// A made-up session cookie is refused.
		w := s.do(t, request{target: "/api/v1/accounts", cookie: &http.Cookie{Name: session.CookieName, Value: "forged"}})
		checkProblem(t, w, http.StatusUnauthorized)
	})
}
