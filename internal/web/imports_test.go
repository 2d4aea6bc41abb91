package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/csvimport"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestCSVUpload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		upload := func(target, body string) request {
			return request{method: http.MethodPost, target: target, bearer: k.manager, body: body, ctype: "text/csv"}
		}

		w := s.do(t, upload("/api/v1/imports/accounts?file=accounts.csv&map=Customer%3Daccount_id,Notes%3D",
			"Customer,name,Notes,seats\nA1,Alpha,skip me,10\nA2,Beta,,20\n"))
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("upload = %d %s; body %s", w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		res := decode[csvimport.Result](t, w)
		if !res.Committed || res.Rows != 2 || res.Inserted != 2 || res.File != "accounts.csv" {
			t.Errorf("result = %+v", res)
		}
		// One audit entry for the import, with its counts.
		es, err := audit.List(context.Background(), db, audit.Filter{ObjectType: "import", ObjectID: "accounts"})
		if err != nil || len(es) != 1 {
			t.Fatalf("audit entries = %+v, %v; want one", es, err)
		}
		var counts audit.ImportCounts
		if err := json.Unmarshal(es[0].After, &counts); err != nil || counts.Inserted != 2 || counts.Rows != 2 {
			t.Errorf("audit after = %s (%v)", es[0].After, err)
		}

		// Bad rows: 422, a problem document carrying the result, nothing written.
		w = s.do(t, upload("/api/v1/imports/subscriptions",
			"subscription_id,account_id,start_date,mrr,currency\nS1,A1,2024-01-01,5000.5,JPY\nS2,A9,2024-01-01,10,USD\nS3,A2,2024-01-01,10,USD\n"))
		if w.Code != http.StatusUnprocessableEntity || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("bad upload = %d %s; body %s", w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		var bad struct {
			Type, Title, Detail string
			Status              int
			csvimport.Result
		}
		if err := json.Unmarshal(w.Body.Bytes(), &bad); err != nil {
			t.Fatal(err)
		}
		if bad.Status != 422 || bad.Type != "about:blank" || bad.Committed || bad.Invalid != 2 || len(bad.Errors) != 2 ||
			bad.Errors[0].Line != 2 || bad.Errors[0].Column != "mrr" || bad.Errors[1].Column != "account_id" {
			t.Errorf("bad upload answer = %+v", bad)
		}
		var n int
		db.QueryRow(`SELECT COUNT(*) FROM subscription_periods`).Scan(&n)
		if n != 0 {
			t.Errorf("%d periods written by a rejected upload", n)
		}

		// skip_invalid and create_accounts, as on the command line.
		w = s.do(t, upload("/api/v1/imports/subscriptions?skip_invalid=true&create_accounts=true",
			"subscription_id,account_id,start_date,mrr,currency\nS1,A1,2024-01-01,5000.5,JPY\nS2,A9,2024-01-01,10,USD\n"))
		if w.Code != http.StatusOK {
			t.Fatalf("skip_invalid upload = %d; body %s", w.Code, w.Body)
		}
		if res := decode[csvimport.Result](t, w); !res.Committed || res.Invalid != 1 || res.CreatedAccounts != 1 || res.Inserted != 1 {
			t.Errorf("skip_invalid result = %+v", res)
		}

		for _, tt := range []struct {
			name   string
			req    request
			status int
		}{
			{"unknown kind", upload("/api/v1/imports/widgets", "a\n1\n"), http.StatusUnprocessableEntity},
			{"not CSV", request{method: http.MethodPost, target: "/api/v1/imports/accounts", bearer: k.manager, body: `{"a":1}`}, http.StatusUnsupportedMediaType},
			{"bad map", upload("/api/v1/imports/accounts?map=nodst", "account_id\nA\n"), http.StatusBadRequest},
			{"viewer", request{method: http.MethodPost, target: "/api/v1/imports/accounts", bearer: k.viewer, body: "account_id\nA\n", ctype: "text/csv"}, http.StatusForbidden},
		} {
			t.Run(tt.name, func(t *testing.T) {
				checkProblem(t, s.do(t, tt.req), tt.status)
			})
		}
	})
}

// TestCSVUploadTooLarge sends a body over the limit (lowered from 100 MB,
// which takes long to import) and checks that nothing of it is written.
func TestCSVUploadTooLarge(t *testing.T) {
	s := newTestServer(t, storetest.SQLite(t))
	s.csvLimit = 1 << 20
	k := newRoleKeys(t, s.db)
	body := "account_id,name\n" + strings.Repeat("A,x\n", (1<<20)/4+10)
	w := s.do(t, request{method: http.MethodPost, target: "/api/v1/imports/accounts", bearer: k.manager, body: body, ctype: "text/csv"})
	checkProblem(t, w, http.StatusRequestEntityTooLarge)
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&n)
	if n != 0 {
		t.Errorf("%d accounts written by a rejected upload", n)
	}
}
