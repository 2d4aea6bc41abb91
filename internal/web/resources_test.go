package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// crudCase is one resource's round trip.
type crudCase struct {
	name     string
	path     string         // of the record
	put      string         // its body
	want     map[string]any // fields of the record after PUT
	patch    string         // a merge patch
	patched  map[string]any // fields after PATCH
	list     string         // a list URL that includes it
	listKey  string         // the list's array member
	idField  string
	id       string
	object   string // audit object type
	objectID string // audit object id
}

var crudCases = []crudCase{
	{
		name: "account", path: "/api/v1/accounts/acc-2",
		put:   `{"name":"Beta","signup_at":"2024-03-01","owner_email":"Ann@Example.com","parent_account_id":"acc-1","attributes":{"seats":25,"tier":"gold","vip":true}}`,
		want:  map[string]any{"account_id": "acc-2", "name": "Beta", "signup_at": "2024-03-01T00:00:00Z", "owner_email": "ann@example.com", "parent_account_id": "acc-1", "attributes": map[string]any{"seats": 25.0, "tier": "gold", "vip": true}, "mrr": 0.0, "currency": "USD"},
		patch: `{"name":"Beta KK","attributes":{"vip":null,"region":"JP"}}`, patched: map[string]any{"name": "Beta KK", "owner_email": "ann@example.com", "attributes": map[string]any{"seats": 25.0, "tier": "gold", "region": "JP"}},
		list: "/api/v1/accounts?parent_account_id=acc-1", listKey: "accounts", idField: "account_id", id: "acc-2",
		object: "account", objectID: "acc-2",
	},
	{
		name: "contact", path: "/api/v1/contacts/c-1",
		put:   `{"account_id":"acc-1","email":"buyer@customer.example","name":"Bo","role":"decision maker","attributes":{"language":"ja"}}`,
		want:  map[string]any{"contact_id": "c-1", "account_id": "acc-1", "email": "buyer@customer.example", "name": "Bo", "role": "decision maker", "attributes": map[string]any{"language": "ja"}},
		patch: `{"role":"champion"}`, patched: map[string]any{"role": "champion", "name": "Bo"},
		list: "/api/v1/contacts?account_id=acc-1", listKey: "contacts", idField: "contact_id", id: "c-1",
		object: "contact", objectID: "c-1",
	},
	{
		name: "subscription period", path: "/api/v1/subscriptions/sub-1/2024-01-01",
		put:   `{"account_id":"acc-1","mrr":49.9,"currency":"usd","plan":"pro","quantity":5}`,
		want:  map[string]any{"subscription_id": "sub-1", "account_id": "acc-1", "start_date": "2024-01-01T00:00:00Z", "end_date": nil, "mrr": 49.9, "currency": "USD", "plan": "pro", "quantity": 5.0},
		patch: `{"end_date":"2024-07-01"}`, patched: map[string]any{"end_date": "2024-07-01T00:00:00Z", "mrr": 49.9},
		list: "/api/v1/subscriptions?account_id=acc-1", listKey: "periods", idField: "subscription_id", id: "sub-1",
		object: "subscription_period", objectID: "sub-1/2024-01-01T00:00:00Z",
	},
	{
		name: "ticket", path: "/api/v1/tickets/t-1",
		put:   `{"account_id":"acc-1","opened_at":"2024-05-01T09:30:00+09:00","status":"open","priority":"high","category":"billing","subject":"Invoice is wrong"}`,
		want:  map[string]any{"ticket_id": "t-1", "account_id": "acc-1", "opened_at": "2024-05-01T00:30:00Z", "status": "open", "subject": "Invoice is wrong"},
		patch: `{"status":"closed","closed_at":"2024-05-02","csat":5}`, patched: map[string]any{"status": "closed", "closed_at": "2024-05-02T00:00:00Z", "csat": 5.0, "priority": "high"},
		list: "/api/v1/tickets?account_id=acc-1&state=closed", listKey: "tickets", idField: "ticket_id", id: "t-1",
		object: "ticket", objectID: "t-1",
	},
	{
		name: "survey response", path: "/api/v1/responses/r-1",
		put:   `{"account_id":"acc-1","survey":"NPS 2024","kind":"nps","score":9,"comment":"Great","answered_at":"2024-06-01"}`,
		want:  map[string]any{"response_id": "r-1", "account_id": "acc-1", "survey": "NPS 2024", "kind": "nps", "score": 9.0, "comment": "Great", "answered_at": "2024-06-01T00:00:00Z"},
		patch: `{"score":6}`, patched: map[string]any{"score": 6.0, "comment": "Great"},
		list: "/api/v1/responses?survey=NPS+2024", listKey: "responses", idField: "response_id", id: "r-1",
		object: "survey_response", objectID: "r-1",
	},
	{
		name: "note", path: "/api/v1/notes/n-1",
		put:   `{"account_id":"acc-1","kind":"call","body":"Discussed the renewal","occurred_at":"2024-06-03T10:00:00Z"}`,
		want:  map[string]any{"note_id": "n-1", "account_id": "acc-1", "kind": "call", "body": "Discussed the renewal", "author_email": "manager-key@example.com", "occurred_at": "2024-06-03T10:00:00Z"},
		patch: `{"body":"Discussed the renewal: they want SSO"}`, patched: map[string]any{"body": "Discussed the renewal: they want SSO", "kind": "call"},
		list: "/api/v1/notes?account_id=acc-1&kind=call", listKey: "notes", idField: "note_id", id: "n-1",
		object: "note", objectID: "n-1",
	},
	{
		name: "handoff", path: "/api/v1/handoffs/acc-1",
		put:   `{"why_bought":"Churn is killing them","promised":"SSO by Q3","success_criteria":"Churn below 2%"}`,
		want:  map[string]any{"account_id": "acc-1", "why_bought": "Churn is killing them", "promised": "SSO by Q3", "challenges": "", "author_email": "manager-key@example.com"},
		patch: `{"challenges":"Three tools, no single view"}`, patched: map[string]any{"challenges": "Three tools, no single view", "promised": "SSO by Q3"},
		list: "/api/v1/handoffs?sort=-updated_at", listKey: "handoffs", idField: "account_id", id: "acc-1",
		object: "handoff", objectID: "acc-1",
	},
}

// checkFields checks that the JSON object in w has the wanted members.
func checkFields(t *testing.T, w interface{ Bytes() []byte }, want map[string]any) map[string]any {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(w.Bytes(), &got); err != nil {
		t.Fatalf("decode %s: %v", w.Bytes(), err)
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v (in %s)", k, got[k], v, w.Bytes())
		}
	}
	return got
}

func auditCount(t *testing.T, db *store.DB, objectType, objectID string) int {
	t.Helper()
	es, err := audit.List(context.Background(), db, audit.Filter{ObjectType: objectType, ObjectID: objectID})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestCRUDRoundTrips(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		if err := account.Upsert(context.Background(), db, account.Account{ID: "acc-1", Name: "Alpha"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range crudCases {
			t.Run(tc.name, func(t *testing.T) {
				key := k.manager
				w := s.do(t, request{method: http.MethodPut, target: tc.path, bearer: key, body: tc.put})
				if w.Code != http.StatusCreated {
					t.Fatalf("PUT = %d, want 201; body %s", w.Code, w.Body)
				}
				checkFields(t, w.Body, tc.want)

				w = s.do(t, request{target: tc.path, bearer: key})
				if w.Code != http.StatusOK {
					t.Fatalf("GET = %d; body %s", w.Code, w.Body)
				}
				checkFields(t, w.Body, tc.want)

				// The same PUT again changes nothing, and the log says so by saying nothing.
				if w := s.do(t, request{method: http.MethodPut, target: tc.path, bearer: key, body: tc.put}); w.Code != http.StatusOK {
					t.Fatalf("second PUT = %d, want 200; body %s", w.Code, w.Body)
				}
				if n := auditCount(t, db, tc.object, tc.objectID); n != 1 {
					t.Errorf("%d audit entries after creating and re-sending, want 1", n)
				}

				w = s.do(t, request{method: http.MethodPatch, target: tc.path, bearer: key, body: tc.patch, ctype: "application/merge-patch+json"})
				if w.Code != http.StatusOK {
					t.Fatalf("PATCH = %d, want 200; body %s", w.Code, w.Body)
				}
				checkFields(t, w.Body, tc.patched)
				checkFields(t, s.do(t, request{target: tc.path, bearer: key}).Body, tc.patched)

				w = s.do(t, request{target: tc.list, bearer: key})
				if w.Code != http.StatusOK {
					t.Fatalf("list = %d; body %s", w.Code, w.Body)
				}
				var page map[string][]map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
					t.Fatalf("decode list %s: %v", w.Body, err)
				}
				if !slices.ContainsFunc(page[tc.listKey], func(m map[string]any) bool { return m[tc.idField] == tc.id }) {
					t.Errorf("list %s lacks %s: %s", tc.list, tc.id, w.Body)
				}

				if w := s.do(t, request{method: http.MethodDelete, target: tc.path, bearer: key}); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
					t.Fatalf("DELETE = %d %q, want 204", w.Code, w.Body)
				}
				checkProblem(t, s.do(t, request{target: tc.path, bearer: key}), http.StatusNotFound)
				checkProblem(t, s.do(t, request{method: http.MethodDelete, target: tc.path, bearer: key}), http.StatusNotFound)
				if n := auditCount(t, db, tc.object, tc.objectID); n != 3 {
					t.Errorf("%d audit entries after create, update, delete; want 3", n)
				}
			})
		}
	})
}

func TestRecordErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		if err := account.Upsert(context.Background(), db, account.Account{ID: "acc-1", Name: "Alpha"}); err != nil {
			t.Fatal(err)
		}
		put := func(path, body string) request {
			return request{method: http.MethodPut, target: path, bearer: k.manager, body: body}
		}
		if w := s.do(t, put("/api/v1/subscriptions/s-1/2024-01-01", `{"account_id":"acc-1","mrr":10,"end_date":"2024-03-01"}`)); w.Code != http.StatusCreated {
			t.Fatalf("seed period = %d %s", w.Code, w.Body)
		}
		for _, tt := range []struct {
			name     string
			req      request
			status   int
			location string
		}{
			{"unknown account", put("/api/v1/tickets/t-1", `{"account_id":"nope","opened_at":"2024-01-01"}`), 422, "body.account_id"},
			{"bad date", put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"yesterday"}`), 422, "body.opened_at"},
			{"date out of range", put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"0204-01-01"}`), 422, "body.opened_at"},
			{"closed before opened", put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"2024-02-01","closed_at":"2024-01-01"}`), 422, "body.closed_at"},
			// huma locates a missing property at its object, and names it in the message.
			{"missing required", put("/api/v1/tickets/t-1", `{"opened_at":"2024-01-01"}`), 422, "body"},
			{"unknown field", put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"2024-01-01","colour":"red"}`), 422, "body.colour"},
			{"wrong type", put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"2024-01-01","csat":"five"}`), 422, "body.csat"},
			{"csat out of range", put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"2024-01-01","csat":9}`), 422, "body.csat"},
			{"NUL in text", put("/api/v1/tickets/t-1", `{"account_id":"acc-1","opened_at":"2024-01-01","subject":"a\u0000b"}`), 422, "body.subject"},
			{"malformed JSON", put("/api/v1/tickets/t-1", `{"account_id":`), 400, "body"},
			{"score out of range", put("/api/v1/responses/r-1", `{"account_id":"acc-1","survey":"s","kind":"csat","score":9,"answered_at":"2024-01-01"}`), 422, "body.score"},
			{"too many decimals", put("/api/v1/subscriptions/s-2/2024-01-01", `{"account_id":"acc-1","mrr":5000.5,"currency":"JPY"}`), 422, "body.mrr"},
			{"unknown currency", put("/api/v1/subscriptions/s-2/2024-01-01", `{"account_id":"acc-1","mrr":5,"currency":"XXQ"}`), 422, "body.currency"},
			{"overlapping period", put("/api/v1/subscriptions/s-1/2024-02-01", `{"account_id":"acc-1","mrr":20}`), 422, "path.start_date"},
			{"bad start in path", put("/api/v1/subscriptions/s-1/soon", `{"account_id":"acc-1","mrr":20}`), 400, "path.start_date"},
			{"own parent", put("/api/v1/accounts/acc-1", `{"parent_account_id":"acc-1"}`), 422, "body.parent_account_id"},
			{"nested attribute", put("/api/v1/accounts/acc-1", `{"attributes":{"x":{"y":1}}}`), 422, "body.attributes.x"},
			{"bad email", put("/api/v1/contacts/c-1", `{"account_id":"acc-1","email":"not an email"}`), 422, "body.email"},
			{"handoff of an unknown account", put("/api/v1/handoffs/nope", `{"why_bought":"x"}`), 422, "path.account_id"},
			{"patch makes it incomplete", request{method: http.MethodPatch, target: "/api/v1/tickets/t-9", bearer: k.manager, body: `{"status":"open"}`}, 422, ""},
			{"body too large", put("/api/v1/notes/n-1", `{"account_id":"acc-1","body":"`+strings.Repeat("x", maxJSONBody)+`"}`), 413, ""},
			{"bad sort", request{target: "/api/v1/tickets?sort=subject", bearer: k.manager}, 400, "query.sort"},
			{"bad cursor", request{target: "/api/v1/tickets?after=zzz", bearer: k.manager}, 400, "query.after"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := s.do(t, tt.req)
				p := checkProblem(t, w, tt.status)
				if tt.location != "" && !slices.ContainsFunc(p.Errors, func(e errorDetail) bool { return e.Location == tt.location }) {
					t.Errorf("errors = %+v, want one at %s", p.Errors, tt.location)
				}
			})
		}
		// Nothing above was stored.
		for _, path := range []string{"/api/v1/tickets/t-1", "/api/v1/responses/r-1", "/api/v1/subscriptions/s-2/2024-01-01",
			"/api/v1/subscriptions/s-1/2024-02-01", "/api/v1/contacts/c-1", "/api/v1/handoffs/nope", "/api/v1/notes/n-1"} {
			if w := s.do(t, request{target: path, bearer: k.manager}); w.Code != http.StatusNotFound {
				t.Errorf("GET %s = %d after invalid writes, want 404", path, w.Code)
			}
		}
	})
}

// TestListPaging pages through tickets in every documented order.
func TestListPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		if err := account.Upsert(context.Background(), db, account.Account{ID: "acc-1"}); err != nil {
			t.Fatal(err)
		}
		// Seven tickets, three opened at the same time, so the cursor must break ties by id.
		var records []string
		for i, day := range []string{"05", "01", "03", "03", "03", "02", "04"} {
			records = append(records, fmt.Sprintf(`{"ticket_id":"t-%d","account_id":"acc-1","opened_at":"2024-01-%s"}`, i, day))
		}
		if w := s.do(t, request{method: http.MethodPost, target: "/api/v1/tickets/bulk", bearer: k.manager,
			body: `{"records":[` + strings.Join(records, ",") + `]}`}); w.Code != http.StatusOK {
			t.Fatalf("bulk = %d %s", w.Code, w.Body)
		}
		for _, tt := range []struct {
			sort string
			want []string
		}{
			{"opened_at", []string{"t-1", "t-5", "t-2", "t-3", "t-4", "t-6", "t-0"}},
			{"-opened_at", []string{"t-0", "t-6", "t-4", "t-3", "t-2", "t-5", "t-1"}},
			{"ticket_id", []string{"t-0", "t-1", "t-2", "t-3", "t-4", "t-5", "t-6"}},
			{"-ticket_id", []string{"t-6", "t-5", "t-4", "t-3", "t-2", "t-1", "t-0"}},
		} {
			t.Run(tt.sort, func(t *testing.T) {
				var got []string
				after := ""
				for pages := 0; ; pages++ {
					if pages > 10 {
						t.Fatal("paging does not end")
					}
					q := url.Values{"sort": {tt.sort}, "limit": {"2"}, "after": {after}}
					w := s.do(t, request{target: "/api/v1/tickets?" + q.Encode(), bearer: k.viewer})
					if w.Code != http.StatusOK {
						t.Fatalf("status %d: %s", w.Code, w.Body)
					}
					p := decode[ticketPage](t, w)
					for _, tk := range p.Tickets {
						got = append(got, tk.ID)
					}
					if p.NextCursor == "" {
						break
					}
					after = p.NextCursor
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("order = %v, want %v", got, tt.want)
				}
			})
		}
	})
}
