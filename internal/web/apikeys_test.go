package web

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// dbHolds reports whether any text column of any row of table holds s.
func dbHolds(t *testing.T, db *store.DB, table, s string) bool {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if strings.Contains(v.String, s) {
				return true
			}
		}
	}
	return false
}

func TestAPIKeyLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)

		w := s.do(t, request{method: http.MethodPost, target: "/api/v1/api-keys", bearer: k.admin,
			body: `{"name":"billing sync","scope":"read","user_email":"viewer-key@example.com"}`})
		if w.Code != http.StatusCreated {
			t.Fatalf("create = %d %s", w.Code, w.Body)
		}
		created := decode[createdAPIKey](t, w)
		if !strings.HasPrefix(created.Secret, apikey.Prefix) || len(created.Secret) < 40 || created.Scope != apikey.ScopeRead ||
			created.UserID == "" || !strings.HasPrefix(created.Secret, created.Prefix) {
			t.Fatalf("created = %+v", created)
		}
		// Shown once: not in the list, not in the database (only its hash), not in the audit log.
		if w := s.do(t, request{target: "/api/v1/api-keys", bearer: k.admin}); strings.Contains(w.Body.String(), created.Secret) ||
			!strings.Contains(w.Body.String(), created.ID) {
			t.Errorf("list = %s", w.Body)
		}
		for _, table := range []string{"api_keys", "audit_log"} {
			if dbHolds(t, db, table, created.Secret) {
				t.Errorf("%s holds the secret", table)
			}
		}
		if !dbHolds(t, db, "api_keys", apikey.Hash(created.Secret)) {
			t.Error("api_keys does not hold the secret's hash")
		}

		if w := s.do(t, request{target: "/api/v1/accounts", bearer: created.Secret}); w.Code != http.StatusOK {
			t.Fatalf("the new key = %d", w.Code)
		}
		got, err := apikey.Get(t.Context(), db, created.ID)
		if err != nil || got.LastUsedAt == nil {
			t.Errorf("after a use, key = %+v, %v; want a last-used time", got, err)
		}

		if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/api-keys/" + created.ID, bearer: k.admin}); w.Code != http.StatusOK {
			t.Fatalf("revoke = %d %s", w.Code, w.Body)
		}
		p := checkProblem(t, s.do(t, request{target: "/api/v1/accounts", bearer: created.Secret}), http.StatusUnauthorized)
		if !strings.Contains(p.Detail, "revoked") {
			t.Errorf("detail = %q", p.Detail)
		}
		if n := auditCount(t, db, "api_key", created.ID); n != 2 {
			t.Errorf("%d audit entries for the key, want create and revoke", n)
		}

		checkProblem(t, s.do(t, request{method: http.MethodDelete, target: "/api/v1/api-keys/key_nope", bearer: k.admin}), http.StatusNotFound)
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/api-keys", bearer: k.admin,
			body: `{"name":"x","scope":"read","user_email":"nobody@example.com"}`}), http.StatusUnprocessableEntity)
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/api-keys", bearer: k.admin,
			body: `{"name":"x","scope":"root"}`}), http.StatusUnprocessableEntity)
	})
}

func TestCreateUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		body := `{"email":"New@Example.com","name":"New","role":"csm","password":"long enough password"}`
		w := s.do(t, request{method: http.MethodPost, target: "/api/v1/users", bearer: k.admin, body: body})
		if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"email":"new@example.com"`) || strings.Contains(w.Body.String(), "password") {
			t.Fatalf("create = %d %s", w.Code, w.Body)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/users", bearer: k.admin, body: body}), http.StatusConflict)
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/users", bearer: k.manager, body: body}), http.StatusForbidden)
		if n := auditCount(t, db, "user", ""); n != 1 {
			t.Errorf("%d audit entries for users, want 1", n)
		}
		if dbHolds(t, db, "audit_log", "long enough password") {
			t.Error("the audit log holds the password")
		}
	})
}
