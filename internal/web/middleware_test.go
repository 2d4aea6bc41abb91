package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSecurityHeaders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		want := map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
		}
		for _, tt := range []struct {
			name   string
			req    request
			status int
		}{
			{"healthz", request{target: "/healthz"}, http.StatusOK},
			{"readyz", request{target: "/readyz"}, http.StatusOK},
			{"api", request{target: "/api/v1/accounts", auth: true}, http.StatusOK},
			{"unauthorized", request{target: "/api/v1/accounts"}, http.StatusUnauthorized},
			{"bad request", request{target: "/api/v1/accounts?limit=x", auth: true}, http.StatusBadRequest},
			{"api not found", request{target: "/api/v1/accounts/nope", auth: true}, http.StatusNotFound},
			{"method not allowed", request{method: http.MethodPut, target: "/api/v1/accounts"}, http.StatusMethodNotAllowed},
			{"outside the api", request{target: "/nothing-here"}, http.StatusNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := s.do(t, tt.req)
				if w.Code != tt.status {
					t.Fatalf("status = %d, want %d", w.Code, tt.status)
				}
				for k, v := range want {
					if got := w.Header().Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				if strings.HasPrefix(tt.req.target, "/api/") && w.Header().Get("Cache-Control") != "no-store" && tt.status != http.StatusMethodNotAllowed {
					t.Errorf("Cache-Control = %q, want no-store", w.Header().Get("Cache-Control"))
				}
			})
		}
	})
}

func TestRecoverAndLog(t *testing.T) {
	s := newTestServer(t, storetest.SQLite(t))
	s.mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		panic("boom")
	})
	s.mux.HandleFunc("GET /panic-late", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		panic("late boom")
	})

	w := s.do(t, request{target: "/panic"})
	checkProblem(t, w, http.StatusInternalServerError)
	if w.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("a recovered panic's response lacks the security headers")
	}
	if strings.Contains(w.Body.String(), "boom") {
		t.Errorf("the response reveals the panic: %s", w.Body)
	}

	// Once the response has started, the only honest answer is to abort it.
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("late panic: recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		s.do(t, request{target: "/panic-late"})
	}()

	s.do(t, request{target: "/api/v1/accounts?owner=x", auth: true})
	logs := s.log.String()
	for _, want := range []string{
		`msg="panic serving request"`, "panic=boom", "stack=",
		"method=GET path=/panic status=500",
		"method=GET path=/api/v1/accounts status=200",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "owner=x") {
		t.Errorf("log holds the query string:\n%s", logs)
	}
}
