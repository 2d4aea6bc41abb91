package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestAccessMatrix checks who may do what: no credentials 401, a key of the
// wrong scope 403, a role that may not 403, one that may 2xx.
func TestAccessMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "acc-1", Name: "Alpha"}); err != nil {
			t.Fatal(err)
		}
		revoked, secret, err := apikey.Create(ctx, db, "old", apikey.ScopeWrite, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apikey.Revoke(ctx, db, revoked.ID); err != nil {
			t.Fatal(err)
		}

		putAccount := func(key string) request {
			return request{method: http.MethodPut, target: "/api/v1/accounts/acc-2", bearer: key, body: `{"name":"Beta"}`}
		}
		putNote := func(key string) request {
			return request{method: http.MethodPut, target: "/api/v1/notes/n-1", bearer: key, body: `{"account_id":"acc-1","body":"Kickoff went well"}`}
		}
		for _, tt := range []struct {
			name   string
			req    request
			status int
		}{
			{"no credentials", request{target: "/api/v1/accounts"}, http.StatusUnauthorized},
			{"no credentials, write", request{method: http.MethodPut, target: "/api/v1/accounts/acc-2", body: `{}`}, http.StatusUnauthorized},
			{"unknown key", request{target: "/api/v1/accounts", bearer: "kz_" + strings.Repeat("a", 52)}, http.StatusUnauthorized},
			{"not a key", request{target: "/api/v1/accounts", bearer: "hunter2"}, http.StatusUnauthorized},
			{"revoked key", request{target: "/api/v1/accounts", bearer: secret}, http.StatusUnauthorized},
			{"unknown scheme", request{target: "/api/v1/accounts", header: http.Header{"Authorization": {"Digest x"}}}, http.StatusUnauthorized},

			{"read key reads", request{target: "/api/v1/accounts", bearer: k.read}, http.StatusOK},
			{"read key may not write", putAccount(k.read), http.StatusForbidden},
			{"ingest key may not read", request{target: "/api/v1/accounts", bearer: k.ingest}, http.StatusForbidden},
			{"ingest key may not write", putAccount(k.ingest), http.StatusForbidden},
			{"write service key writes", putAccount(k.write), http.StatusCreated},
			{"write service key may not manage keys", request{target: "/api/v1/api-keys", bearer: k.write}, http.StatusForbidden},

			{"viewer reads", request{target: "/api/v1/accounts/acc-1", bearer: k.viewer}, http.StatusOK},
			{"viewer may not write", putAccount(k.viewer), http.StatusForbidden},
			{"viewer may not write notes", putNote(k.viewer), http.StatusForbidden},
			{"viewer may not read the audit log", request{target: "/api/v1/audit", bearer: k.viewer}, http.StatusForbidden},
			{"basic viewer may not write", request{method: http.MethodDelete, target: "/api/v1/accounts/acc-1", auth: true}, http.StatusForbidden},

			{"csm writes notes", putNote(k.csm), http.StatusCreated},
			{"csm writes handoffs", request{method: http.MethodPut, target: "/api/v1/handoffs/acc-1", bearer: k.csm, body: `{"why_bought":"speed"}`}, http.StatusCreated},
			{"csm may not write accounts", putAccount(k.csm), http.StatusForbidden},
			{"csm may not import", request{method: http.MethodPost, target: "/api/v1/imports/accounts", bearer: k.csm, body: "account_id\nx\n", ctype: "text/csv"}, http.StatusForbidden},

			{"manager writes accounts", request{method: http.MethodPatch, target: "/api/v1/accounts/acc-1", bearer: k.manager, body: `{"name":"Alpha KK"}`}, http.StatusOK},
			{"manager reads the audit log", request{target: "/api/v1/audit", bearer: k.manager}, http.StatusOK},
			{"manager may not manage keys", request{target: "/api/v1/api-keys", bearer: k.manager}, http.StatusForbidden},
			{"manager may not manage users", request{target: "/api/v1/users", bearer: k.manager}, http.StatusForbidden},

			{"admin lists keys", request{target: "/api/v1/api-keys", bearer: k.admin}, http.StatusOK},
			{"admin lists users", request{target: "/api/v1/users", bearer: k.admin}, http.StatusOK},
			{"admin writes", request{method: http.MethodDelete, target: "/api/v1/accounts/acc-2", bearer: k.admin}, http.StatusNoContent},

			{"probes are public", request{target: "/healthz"}, http.StatusOK},
			{"the OpenAPI document is public", request{target: "/api/v1/openapi.json"}, http.StatusOK},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := s.do(t, tt.req)
				if w.Code != tt.status {
					t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
				}
				if w.Code >= 400 {
					checkProblem(t, w, tt.status)
				}
			})
		}
	})
}

// TestKeyOwnerRoleCaps checks that a key acting for a user can do no more
// than the user: a write key of a viewer is a read key.
func TestKeyOwnerRoleCaps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		viewer := addUser(t, db, "v@example.com", "viewer")
		admin := addUser(t, db, "a@example.com", "admin")
		readOfAdmin := newKey(t, db, apikey.ScopeRead, admin.ID)
		writeOfViewer := newKey(t, db, apikey.ScopeWrite, viewer.ID)
		for _, tt := range []struct {
			name   string
			req    request
			status int
		}{
			{"admin's read key reads keys", request{target: "/api/v1/api-keys", bearer: readOfAdmin}, http.StatusOK},
			{"admin's read key may not create keys", request{method: http.MethodPost, target: "/api/v1/api-keys", bearer: readOfAdmin,
				body: `{"name":"x","scope":"read"}`}, http.StatusForbidden},
			{"viewer's write key may not write", request{method: http.MethodPut, target: "/api/v1/accounts/a", bearer: writeOfViewer,
				body: `{}`}, http.StatusForbidden},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if w := s.do(t, tt.req); w.Code != tt.status {
					t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
				}
			})
		}
	})
}

// TestCrossOrigin checks that a browser on another site cannot change
// data, while scripts (no browser headers) and the site itself can.
func TestCrossOrigin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		put := func(h http.Header) request {
			return request{method: http.MethodPut, target: "/api/v1/accounts/acc-9", bearer: k.manager, body: `{"name":"X"}`, header: h}
		}
		for _, tt := range []struct {
			name   string
			req    request
			status int
		}{
			{"cross-site fetch", put(http.Header{"Sec-Fetch-Site": {"cross-site"}}), http.StatusForbidden},
			{"same-site other origin", put(http.Header{"Sec-Fetch-Site": {"same-site"}}), http.StatusForbidden},
			{"origin mismatch", put(http.Header{"Origin": {"https://evil.example"}}), http.StatusForbidden},
			{"cross-site login", request{method: http.MethodPost, target: "/login", body: "email=a&password=b",
				ctype: "application/x-www-form-urlencoded", header: http.Header{"Sec-Fetch-Site": {"cross-site"}}}, http.StatusForbidden},
			{"cross-site logout", request{method: http.MethodPost, target: "/logout",
				header: http.Header{"Origin": {"https://evil.example"}}}, http.StatusForbidden},
			{"cross-site GET is fine", request{target: "/api/v1/accounts", bearer: k.viewer,
				header: http.Header{"Sec-Fetch-Site": {"cross-site"}}}, http.StatusOK},
			{"same origin", put(http.Header{"Sec-Fetch-Site": {"same-origin"}}), http.StatusCreated},
			{"origin matches host", put(http.Header{"Origin": {"http://example.com"}}), http.StatusOK},
			{"script without browser headers", put(nil), http.StatusOK},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := s.do(t, tt.req)
				if w.Code != tt.status {
					t.Fatalf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
				}
				if w.Code == http.StatusForbidden {
					if p := checkProblem(t, w, http.StatusForbidden); !strings.Contains(p.Detail, "cross-origin") {
						t.Errorf("detail = %q", p.Detail)
					}
				}
			})
		}
		a, err := account.Get(context.Background(), db, "acc-9")
		if err != nil || a.Name != "X" {
			t.Errorf("account after the allowed requests = %+v, %v", a, err)
		}
	})
}
