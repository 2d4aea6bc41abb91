package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/support"
)

func TestFeedbackAndProductRequestsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		// a: 2,000/month (ARR 24,000) owned by kei; b: 500/month (ARR 6,000) owned by mia; c: no revenue, no owner.
		start := time.Now().AddDate(0, -2, 0)
		for id, a := range map[string]struct {
			owner string
			minor int64
		}{"a": {"kei@kizuna.example", 200000}, "b": {"mia@kizuna.example", 50000}, "c": {}} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "N" + id, OwnerEmail: a.owner}); err != nil {
				t.Fatal(err)
			}
			if a.minor > 0 {
				if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s" + id, AccountID: id, Start: start, MRRMinor: a.minor, Currency: "USD"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := support.UpsertTicket(ctx, db, support.Ticket{ID: "t1", AccountID: "b", OpenedAt: time.Now().Add(-time.Hour), Subject: "Export to Excel"}); err != nil {
			t.Fatal(err)
		}
		if err := support.UpsertTicket(ctx, db, support.Ticket{ID: "t2", AccountID: "c", OpenedAt: time.Now().Add(-time.Hour), Subject: "Excel export broken"}); err != nil {
			t.Fatal(err)
		}
		call := func(key, method, target, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: method, target: target, bearer: key, body: body})
		}
		checkProblem(t, call(keys.viewer, "POST", "/api/v1/feedback", `{"text": "x"}`), http.StatusForbidden)
		p := checkProblem(t, call(keys.csm, "POST", "/api/v1/feedback", `{"account_id": "zz", "text": "x"}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.account_id" {
			t.Errorf("unknown account: %+v", p)
		}
		w := call(keys.csm, "POST", "/api/v1/feedback", `{"account_id": "a", "text": "We would like an Excel export"}`)
		f1 := decode[FeedbackItem](t, w)
		if w.Code != http.StatusCreated || f1.Category != "feature" || f1.Source != "csm" || w.Header().Get("Location") != "/api/v1/feedback/"+f1.ID {
			t.Fatalf("create by a CSM: %d %s", w.Code, w.Body)
		}
		w = call(keys.write, "POST", "/api/v1/feedback", `{"account_id": "a", "category": "feature", "text": "xlsx download"}`)
		f2 := decode[FeedbackItem](t, w)
		if w.Code != http.StatusCreated || f2.Source != "api" {
			t.Fatalf("create by an integration: %d %s", w.Code, w.Body)
		}
		w = call(keys.csm, "POST", "/api/v1/feedback/from-ticket", `{"ticket_id": "t1"}`)
		f3 := decode[FeedbackItem](t, w)
		if w.Code != http.StatusCreated || f3.ID != "fb_t_t1" || f3.AccountID != "b" || f3.Source != "ticket" || f3.Text != "Export to Excel" {
			t.Fatalf("from ticket: %d %s", w.Code, w.Body)
		}
		checkProblem(t, call(keys.csm, "POST", "/api/v1/feedback/from-ticket", `{"ticket_id": "t1"}`), http.StatusConflict)
		f4 := decode[FeedbackItem](t, call(keys.csm, "POST", "/api/v1/feedback/from-ticket", `{"ticket_id": "t2", "category": "performance"}`))

		// Two requests, then the duplicate merged in.
		w = call(keys.csm, "POST", "/api/v1/product-requests", `{"request_id": "excel", "title": "Excel export", "feedback_ids": ["`+f1.ID+`", "`+f2.ID+`"]}`)
		if w.Code != http.StatusCreated || w.Header().Get("Location") != "/api/v1/product-requests/excel" {
			t.Fatalf("create request: %d %s", w.Code, w.Body)
		}
		p = checkProblem(t, call(keys.csm, "POST", "/api/v1/product-requests", `{"title": "x", "feedback_ids": ["nope"]}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.feedback_ids" {
			t.Errorf("unknown item: %+v", p)
		}
		if w := call(keys.csm, "POST", "/api/v1/product-requests", `{"request_id": "xlsx", "title": "XLSX", "feedback_ids": ["fb_t_t1"]}`); w.Code != http.StatusCreated {
			t.Fatalf("create duplicate: %d %s", w.Code, w.Body)
		}
		type rank struct {
			ID    string
			Items int
			ARR   float64
		}
		ranking := func(sort string) []rank {
			t.Helper()
			out := decode[struct{ Requests []ProductRequest }](t, call(keys.read, "GET", "/api/v1/product-requests?sort="+sort, ""))
			var r []rank
			for _, x := range out.Requests {
				r = append(r, rank{x.ID, x.Items, x.ARR})
			}
			return r
		}
		// excel: a twice, ARR 24,000; xlsx: b, ARR 6,000.
		if got, want := ranking("arr"), []rank{{"excel", 2, 24000}, {"xlsx", 1, 6000}}; !reflect.DeepEqual(got, want) {
			t.Errorf("by ARR %v, want %v", got, want)
		}
		w = call(keys.csm, "POST", "/api/v1/product-requests/excel/merge", `{"request_ids": ["xlsx"], "feedback_ids": ["`+f4.ID+`"]}`)
		if w.Code != http.StatusOK {
			t.Fatalf("merge: %d %s", w.Code, w.Body)
		}
		// All four items, from a, b and c: ARR 24,000 + 6,000 + 0.
		if got, want := ranking("count"), []rank{{"excel", 4, 30000}}; !reflect.DeepEqual(got, want) {
			t.Errorf("after merge %v, want %v", got, want)
		}
		detail := decode[ProductRequestDetail](t, call(keys.read, "GET", "/api/v1/product-requests/excel", ""))
		if len(detail.Feedback) != 4 || detail.Accounts != 3 || !reflect.DeepEqual(detail.AccountIDs, []string{"a", "b", "c"}) {
			t.Errorf("detail %+v", detail)
		}
		if dup := decode[ProductRequestDetail](t, call(keys.read, "GET", "/api/v1/product-requests/xlsx", "")); dup.MergedInto != "excel" || len(dup.Feedback) != 0 {
			t.Errorf("merged duplicate %+v", dup)
		}

		// Shipping closes the loop with kei (a) and mia (b); c has no owner. CSMs may not change the status.
		checkProblem(t, call(keys.csm, "POST", "/api/v1/product-requests/excel/status", `{"status": "shipped"}`), http.StatusForbidden)
		checkProblem(t, call(keys.manager, "POST", "/api/v1/product-requests/excel/status", `{"status": "done"}`), http.StatusUnprocessableEntity)
		w = call(keys.manager, "POST", "/api/v1/product-requests/excel/status", `{"status": "shipped", "note": "In 4.2."}`)
		change := decode[ProductRequestChange](t, w)
		if w.Code != http.StatusOK || change.Status != "shipped" || !reflect.DeepEqual(change.CloseTheLoop.Owners, []string{"kei@kizuna.example", "mia@kizuna.example"}) ||
			!reflect.DeepEqual(change.CloseTheLoop.Unowned, []string{"c"}) || len(change.CloseTheLoop.DeliveryIDs) != 2 {
			t.Fatalf("ship: %d %s", w.Code, w.Body)
		}
		for _, id := range change.CloseTheLoop.DeliveryIDs {
			d, err := notify.Get(ctx, db, id)
			if err != nil || d.Status != notify.StatusPending || d.Subject != "Shipped: Excel export" || !strings.Contains(d.Body, "In 4.2.") {
				t.Errorf("delivery %+v %v", d, err)
			}
			if d.Target == "kei@kizuna.example" && !strings.Contains(d.Body, "- Na (2)\n") {
				t.Errorf("kei's email lists %q", d.Body)
			}
		}

		list := decode[feedbackPage](t, call(keys.read, "GET", "/api/v1/feedback?request_id=excel&limit=3", ""))
		if len(list.Items) != 3 || list.NextCursor == "" {
			t.Errorf("page 1 %+v", list)
		}
		rest := decode[feedbackPage](t, call(keys.read, "GET", "/api/v1/feedback?request_id=excel&limit=3&after="+list.NextCursor, ""))
		if len(rest.Items) != 1 || rest.NextCursor != "" {
			t.Errorf("page 2 %+v", rest)
		}
		w = call(keys.csm, "PUT", "/api/v1/feedback/"+f1.ID, `{"text": "Excel export, monthly", "category": "ui_ux"}`)
		if put := decode[FeedbackItem](t, w); w.Code != http.StatusOK || put.Category != "ui_ux" || put.RequestID != "" || put.AccountID != "a" {
			t.Errorf("put: %d %s", w.Code, w.Body)
		}

		// FAQ candidates: "excel" and "export" are in both tickets.
		faq := decode[struct {
			Days       int
			Candidates []struct {
				Topic string
				Count int
			}
		}](t, call(keys.read, "GET", "/api/v1/faq-candidates", ""))
		if faq.Days != 90 || len(faq.Candidates) != 2 || faq.Candidates[0].Topic != "excel" || faq.Candidates[0].Count != 2 || faq.Candidates[1].Topic != "export" {
			t.Errorf("faq %+v", faq)
		}
	})
}
