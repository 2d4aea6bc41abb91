package web

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func TestAuthentication(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		basic := func(s string) http.Header {
			return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(s))}}
		}
		for _, tt := range []struct {
			name   string
			req    request
			status int
		}{
			{"no credentials", request{target: "/api/v1/accounts"}, http.StatusUnauthorized},
			{"wrong password", request{target: "/api/v1/accounts", user: testEmail, pass: "not the password"}, http.StatusUnauthorized},
			{"unknown user", request{target: "/api/v1/accounts", user: "who@example.com", pass: testPassword}, http.StatusUnauthorized},
			{"empty password", request{target: "/api/v1/accounts", header: basic(testEmail + ":")}, http.StatusUnauthorized},
			{"not base64", request{target: "/api/v1/accounts", header: http.Header{"Authorization": {"Basic !!!"}}}, http.StatusUnauthorized},
			{"bearer", request{target: "/api/v1/accounts", header: http.Header{"Authorization": {"Bearer abc"}}}, http.StatusUnauthorized},
			{"detail without credentials", request{target: "/api/v1/accounts/acc-1"}, http.StatusUnauthorized},
			{"right credentials", request{target: "/api/v1/accounts", auth: true}, http.StatusOK},
			{"email in another case", request{target: "/api/v1/accounts", user: strings.ToUpper(testEmail), pass: testPassword}, http.StatusOK},
			// The wrong password must fail after the right one was cached.
			{"wrong password again", request{target: "/api/v1/accounts", user: testEmail, pass: testPassword + "x"}, http.StatusUnauthorized},
			{"no auth on probes", request{target: "/healthz"}, http.StatusOK},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := s.do(t, tt.req)
				if tt.status != http.StatusUnauthorized {
					if w.Code != tt.status {
						t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
					}
					return
				}
				checkProblem(t, w, http.StatusUnauthorized)
				// Both schemes are offered; API keys first, as the README prefers them.
				if got := w.Header().Values("WWW-Authenticate"); !slices.Equal(got, []string{`Bearer realm="kizuna"`, `Basic realm="kizuna"`}) {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			})
		}
		if logs := s.log.String(); strings.Contains(logs, testPassword) || strings.Contains(logs, "Basic ") ||
			strings.Contains(logs, base64.StdEncoding.EncodeToString([]byte(testEmail+":"+testPassword))) {
			t.Errorf("the log holds credentials:\n%s", logs)
		}
	})
}

// fakeClock is a settable time source.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// fakeAuth is a basicAuth on a settable clock whose only right password is
// "right"; calls counts the password checks it runs.
func fakeAuth() (a *basicAuth, clock *fakeClock, calls *int) {
	clock = &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	calls = new(int)
	a = newBasicAuth(nil)
	a.now = clock.now
	a.verify = func(ctx context.Context, email, password string) (user.User, error) {
		*calls++
		if password != "right" {
			return user.User{}, user.ErrBadCredentials
		}
		return user.User{Email: normalEmail(email)}, nil
	}
	return a, clock, calls
}

func TestBasicAuthCache(t *testing.T) {
	ctx := context.Background()
	a, clock, calls := fakeAuth()
	a.size = 3
	check := func(email, password string, wantErr bool, wantCalls int) {
		t.Helper()
		u, err := a.check(ctx, email, password, "192.0.2.1")
		if (err != nil) != wantErr {
			t.Fatalf("check(%s, %s) = %v, %v", email, password, u, err)
		}
		if *calls != wantCalls {
			t.Fatalf("check(%s, %s): %d password checks so far, want %d", email, password, *calls, wantCalls)
		}
	}

	check("a@example.com", "right", false, 1)
	check("a@example.com", "right", false, 1)  // cached
	check(" A@Example.com", "right", false, 1) // the same login
	check("a@example.com", "wrong", true, 2)   // a wrong password is never cached...
	check("a@example.com", "wrong", true, 3)   // ...so each try pays the full check
	check("b@example.com", "right", false, 4)  // other credentials, other entry
	clock.t = clock.t.Add(authCacheTTL - time.Second)
	check("a@example.com", "right", false, 4)
	clock.t = clock.t.Add(2 * time.Second)
	check("a@example.com", "right", false, 5) // expired: checked again

	for _, e := range []string{"c@example.com", "d@example.com", "e@example.com", "f@example.com"} {
		check(e, "right", false, *calls+1)
	}
	if len(a.cache) > a.size {
		t.Errorf("cache holds %d entries, want at most %d", len(a.cache), a.size)
	}
}

func TestBasicAuthGivesUpWithRequest(t *testing.T) {
	a := newBasicAuth(nil)
	a.verify = func(ctx context.Context, email, password string) (user.User, error) {
		t.Fatal("verify called although every slot is taken")
		return user.User{}, nil
	}
	for range cap(a.slots) {
		a.slots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.check(ctx, "a@example.com", "pw", "192.0.2.1"); err != context.Canceled {
		t.Fatalf("check with every slot taken and the request gone = %v, want context.Canceled", err)
	}
}

// Failed checks are limited by client address and by email; a refused
// check runs no password check, whatever the password; remembered
// credentials are not limited; the limits slide with the window.
func TestBasicAuthThrottle(t *testing.T) {
	ctx := context.Background()
	a, clock, calls := fakeAuth()
	a.byClient, a.byAccount = newLimiter(3, loginWindow), newLimiter(5, loginWindow)
	type want int
	const (
		ok want = iota
		bad
		throttled
	)
	try := func(email, password, client string, w want, checked bool) {
		t.Helper()
		before := *calls
		_, err := a.check(ctx, email, password, client)
		var te *throttledError
		switch got := errors.As(err, &te); {
		case w == throttled && !got, w != throttled && got:
			t.Fatalf("check(%s, %s, %s) = %v, want throttled: %v", email, password, client, err, w == throttled)
		case w == ok && err != nil, w == bad && !errors.Is(err, user.ErrBadCredentials):
			t.Fatalf("check(%s, %s, %s) = %v", email, password, client, err)
		}
		if (*calls > before) != checked {
			t.Fatalf("check(%s, %s, %s): password checked %v, want %v", email, password, client, *calls > before, checked)
		}
	}

	try("a@example.com", "right", "c1", ok, true) // remembered from here on
	for range 3 {
		try("a@example.com", "wrong", "c1", bad, true)
	}
	try("a@example.com", "wrong", "c1", throttled, false)
	try("b@example.com", "right", "c1", throttled, false) // the client's limit, right password or not
	try("a@example.com", "right", "c1", ok, false)        // remembered: not limited
	try("b@example.com", "right", "c2", ok, true)         // another client

	// The account's limit: two more failures from other clients reach 5.
	try(" A@Example.com", "wrong", "c2", bad, true)
	try("a@example.com", "wrong", "c3", bad, true)
	try("a@example.com", "other", "c4", throttled, false)
	var te *throttledError
	if _, err := a.check(ctx, "a@example.com", "x", "c4"); !errors.As(err, &te) || te.retry != loginWindow {
		t.Fatalf("retry after = %v, want the window (%s) since the first failure is now", err, loginWindow)
	}
	for _, c := range []struct {
		retry time.Duration
		want  string
	}{
		{te.retry, "too many failed sign-ins; try again in 15 minutes"},
		{61 * time.Second, "too many failed sign-ins; try again in 2 minutes"},
		{time.Minute, "too many failed sign-ins; try again in a minute"},
		{time.Second, "too many failed sign-ins; try again in a minute"},
	} {
		if msg := (&throttledError{c.retry}).Error(); msg != c.want {
			t.Errorf("retry %s: message %q, want %q", c.retry, msg, c.want)
		}
	}

	// The window slides: once the first three failures have left it, c1 and
	// the account may try again.
	clock.t = clock.t.Add(loginWindow)
	try("a@example.com", "wrong", "c1", bad, true)
	try("b@example.com", "right", "c1", ok, true) // checked: remembered for authCacheTTL only
	if _, err := a.verifyNow(ctx, "b@example.com", "right", "c1"); err != nil {
		t.Errorf("verifyNow after the window: %v", err)
	}
}
