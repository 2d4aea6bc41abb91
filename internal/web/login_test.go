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

// Past the failures a client may make, sign-ins from it are refused with
// 429 and Retry-After, through the form (a page for a browser, a problem
// for a script) and HTTP Basic alike, even with the right password; a
// trusted proxy's clients count apart, and a header from anyone else
// changes nothing.
func TestLoginThrottled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		s.auth.byClient = newLimiter(3, loginWindow)
		proxies, err := ParseTrustedProxies("10.0.0.0/8")
		if err != nil {
			t.Fatal(err)
		}
		s.opts.TrustedProxies = proxies
		login := func(password, peer, xff string, browser bool) *httptest.ResponseRecorder {
			form := url.Values{"email": {testEmail}, "password": {password}}
			r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.RemoteAddr = peer + ":40000"
			if xff != "" {
				r.Header.Set("X-Forwarded-For", xff)
			}
			if browser {
				r.Header.Set("Accept", "text/html")
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			return w
		}
		const attacker = "192.0.2.1"
		for i := range 3 {
			if w := login("guess", attacker, "", false); w.Code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d %s", i+1, w.Code, w.Body)
			}
		}
		w := login(testPassword, attacker, "", false)
		checkProblem(t, w, http.StatusTooManyRequests)
		if ra := w.Header().Get("Retry-After"); ra != "900" || !strings.Contains(w.Body.String(), "too many failed sign-ins; try again in 15 minutes") {
			t.Errorf("Retry-After %q, body %s", ra, w.Body)
		}
		if w := login(testPassword, attacker, "", true); w.Code != http.StatusTooManyRequests ||
			!strings.Contains(w.Body.String(), "Too many failed sign-ins. Try again in 15 minutes.") || w.Header().Get("Retry-After") == "" {
			t.Errorf("browser: %d, Retry-After %q, body %s", w.Code, w.Header().Get("Retry-After"), w.Body)
		}
		ja := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {testEmail}, "password": {"x"}}.Encode()))
		ja.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ja.Header.Set("Accept", "text/html")
		ja.Header.Set("Accept-Language", "ja")
		ja.RemoteAddr = attacker + ":40002"
		jw := httptest.NewRecorder()
		s.ServeHTTP(jw, ja)
		if jw.Code != http.StatusTooManyRequests || !strings.Contains(jw.Body.String(), "ログインの失敗が多すぎます。15 分後にもう一度お試しください。") {
			t.Errorf("in Japanese: %d, body %s", jw.Code, jw.Body)
		}
		r := httptest.NewRequest(http.MethodGet, "/api/v1/accounts", nil)
		r.RemoteAddr = attacker + ":40001"
		r.SetBasicAuth(testEmail, testPassword)
		api := httptest.NewRecorder()
		s.ServeHTTP(api, r)
		checkProblem(t, api, http.StatusTooManyRequests)
		if api.Header().Get("Retry-After") == "" {
			t.Error("HTTP Basic: no Retry-After")
		}
		// Naming another address itself is not believed.
		if w := login(testPassword, attacker, "198.51.100.7", false); w.Code != http.StatusTooManyRequests {
			t.Errorf("from the attacker with a forged X-Forwarded-For: %d", w.Code)
		}
		// Through the trusted proxy, another client is not limited...
		if w := login(testPassword, "10.0.0.2", "198.51.100.7", false); w.Code != http.StatusSeeOther {
			t.Errorf("another client through the proxy: %d %s", w.Code, w.Body)
		}
		// ...and the attacker through it still is.
		if w := login(testPassword, "10.0.0.2", attacker, false); w.Code != http.StatusTooManyRequests {
			t.Errorf("the attacker through the proxy: %d", w.Code)
		}
		logs := s.log.String()
		if !strings.Contains(logs, "login refused: too many failed sign-ins") || !strings.Contains(logs, "client="+attacker) ||
			strings.Contains(logs, testPassword) || strings.Contains(logs, "guess") {
			t.Errorf("log:\n%s", logs)
		}
	})
}
