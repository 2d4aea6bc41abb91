package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/support"
)

func ticketRecords(n int, bad map[int]string) string {
	recs := make([]string, n)
	for i := range recs {
		if r, ok := bad[i]; ok {
			recs[i] = r
			continue
		}
		recs[i] = fmt.Sprintf(`{"ticket_id":"t-%05d","account_id":"acc-1","opened_at":"2024-01-01T00:00:%02dZ","subject":"s"}`, i, i%60)
	}
	return `{"records":[` + strings.Join(recs, ",") + `]}`
}

func countTickets(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBulk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		ctx := context.Background()
		if err := account.Upsert(ctx, db, account.Account{ID: "acc-1"}); err != nil {
			t.Fatal(err)
		}
		bulk := func(body string) request {
			return request{method: http.MethodPost, target: "/api/v1/tickets/bulk", bearer: k.manager, body: body}
		}

		t.Run("one bad record writes nothing", func(t *testing.T) {
			w := s.do(t, bulk(ticketRecords(50, map[int]string{
				7:  `{"ticket_id":"t-bad","account_id":"nope","opened_at":"2024-01-01"}`,
				31: `{"ticket_id":"t-00001","account_id":"acc-1","opened_at":"2024-01-01"}`,
			})))
			p := checkProblem(t, w, http.StatusUnprocessableEntity)
			for _, loc := range []string{"body.records[7].account_id", "body.records[31].ticket_id"} {
				if !slices.ContainsFunc(p.Errors, func(e errorDetail) bool { return e.Location == loc }) {
					t.Errorf("errors = %+v, want one at %s", p.Errors, loc)
				}
			}
			if !strings.Contains(p.Detail, "nothing was written") {
				t.Errorf("detail = %q", p.Detail)
			}
			if n := countTickets(t, db); n != 0 {
				t.Errorf("%d tickets stored after a rejected call, want 0", n)
			}
			if n := auditCount(t, db, "ticket", ""); n != 0 {
				t.Errorf("%d audit entries after a rejected call, want 0", n)
			}
		})

		t.Run("schema error names index and field", func(t *testing.T) {
			w := s.do(t, bulk(ticketRecords(3, map[int]string{2: `{"ticket_id":"t-x","account_id":"acc-1","opened_at":"2024-01-01","csat":"high"}`})))
			p := checkProblem(t, w, http.StatusUnprocessableEntity)
			if len(p.Errors) != 1 || p.Errors[0].Location != "body.records[2].csat" {
				t.Errorf("errors = %+v, want one at body.records[2].csat", p.Errors)
			}
		})

		t.Run("5001 records", func(t *testing.T) {
			w := s.do(t, bulk(ticketRecords(maxBulkRecords+1, nil)))
			p := checkProblem(t, w, http.StatusRequestEntityTooLarge)
			if !strings.Contains(p.Detail, "5001 records") || !strings.Contains(p.Detail, "at most 5000") {
				t.Errorf("detail = %q, want the count and the limit", p.Detail)
			}
			if n := countTickets(t, db); n != 0 {
				t.Errorf("%d tickets stored, want 0", n)
			}
		})

		t.Run("5000 records", func(t *testing.T) {
			w := s.do(t, bulk(ticketRecords(maxBulkRecords, nil)))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if r := decode[bulkResult](t, w); r != (bulkResult{Records: 5000, Created: 5000}) {
				t.Errorf("result = %+v", r)
			}
			if n := countTickets(t, db); n != maxBulkRecords {
				t.Errorf("%d tickets stored, want %d", n, maxBulkRecords)
			}
		})

		t.Run("again with one change", func(t *testing.T) {
			w := s.do(t, bulk(ticketRecords(10, map[int]string{4: `{"ticket_id":"t-00004","account_id":"acc-1","opened_at":"2024-01-01T00:00:04Z","subject":"changed"}`})))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if r := decode[bulkResult](t, w); r != (bulkResult{Records: 10, Updated: 1, Unchanged: 9}) {
				t.Errorf("result = %+v", r)
			}
			tk, err := support.GetTicket(ctx, db, "t-00004")
			if err != nil || tk.Subject != "changed" {
				t.Errorf("t-00004 = %+v, %v", tk, err)
			}
		})

		t.Run("accounts may name a parent in the same call", func(t *testing.T) {
			w := s.do(t, request{method: http.MethodPost, target: "/api/v1/accounts/bulk", bearer: k.manager,
				body: `{"records":[{"account_id":"child","parent_account_id":"parent"},{"account_id":"parent","name":"P"}]}`})
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
		})

		t.Run("viewer may not", func(t *testing.T) {
			w := s.do(t, request{method: http.MethodPost, target: "/api/v1/tickets/bulk", bearer: k.viewer, body: ticketRecords(1, nil)})
			checkProblem(t, w, http.StatusForbidden)
		})
	})
}
