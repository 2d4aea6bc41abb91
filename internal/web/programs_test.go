package web

import (
	"context"
	"net/http"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestProgramAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		for _, id := range []string{"a1", "a2", "a3"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "Account " + id}); err != nil {
				t.Fatal(err)
			}
		}
		const body = `{"id": "webinar", "name": "Reports webinar", "hypothesis": "Attendees adopt reports", "action": "video",
			"start_date": "2026-01-15", "pre_days": 14, "measures": [{"kind": "adoption", "feature": "reports"}, {"kind": "churn", "days": 60}]}`
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/programs", bearer: keys.csm, body: body}), http.StatusForbidden)
		for _, tc := range []struct{ body, location string }{
			{`{"id": "x", "name": "X", "action": "video", "start_date": "15/01/2026", "measures": [{"kind": "health"}]}`, "body.start_date"},
			{`{"id": "x", "name": "X", "action": "video", "start_date": "2026-01-15", "measures": []}`, "body.measures"},
			{`{"id": "x", "name": "X", "action": "video", "start_date": "2026-01-15", "measures": [{"kind": "adoption"}]}`, "body.measures[0].feature"},
			{`{"id": "x", "name": "X", "action": "party", "start_date": "2026-01-15", "measures": [{"kind": "health"}]}`, "body.action"},
		} {
			p := checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/programs", bearer: keys.manager, body: tc.body}), http.StatusUnprocessableEntity)
			if len(p.Errors) == 0 || p.Errors[0].Location != tc.location {
				t.Errorf("%s: %+v, want an error at %s", tc.body, p, tc.location)
			}
		}
		w := s.do(t, request{method: http.MethodPost, target: "/api/v1/programs", bearer: keys.manager, body: body})
		if w.Code != http.StatusCreated || w.Header().Get("Location") != "/api/v1/programs/webinar" {
			t.Fatalf("create: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
		}
		created := decode[program.Program](t, w)
		if created.PostDays != 90 || created.PreDays != 14 || created.Measures[1].Days != 60 || created.CreatedBy != "manager-key@example.com" {
			t.Errorf("created %+v", created)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/programs", bearer: keys.manager, body: body}), http.StatusConflict)

		change := func(method, target, key, body, ctype string) struct{ Added, Removed, Participants int } {
			t.Helper()
			w := s.do(t, request{method: method, target: target, bearer: key, body: body, ctype: ctype})
			if w.Code != http.StatusOK {
				t.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
			}
			return decode[struct{ Added, Removed, Participants int }](t, w)
		}
		const parts = "/api/v1/programs/webinar/participants"
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: parts, bearer: keys.viewer, body: `{"account_ids": ["a1"]}`}), http.StatusForbidden)
		if got := change(http.MethodPost, parts, keys.csm, `{"account_ids": ["a1", "a2"]}`, ""); got.Added != 2 || got.Participants != 2 {
			t.Errorf("add: %+v", got)
		}
		p := checkProblem(t, s.do(t, request{method: http.MethodPost, target: parts, bearer: keys.csm, body: `{"account_ids": ["a3", "ghost"]}`}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.account_ids[1]" || p.Errors[0].Message != `no account "ghost"` {
			t.Errorf("unknown account: %+v", p)
		}
		if got := change(http.MethodPost, parts+"/import", keys.csm, "account_id,joined_date\na3,2026-01-20\na1,\n", "text/csv"); got.Added != 1 || got.Participants != 3 {
			t.Errorf("import: %+v", got)
		}
		p = checkProblem(t, s.do(t, request{method: http.MethodPost, target: parts + "/import", bearer: keys.csm, body: "name\nx\n", ctype: "text/csv"}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.file" || p.Errors[0].Message != "line 1: no account_id column (the header has name)" {
			t.Errorf("bad csv: %+v", p)
		}
		if got := change(http.MethodDelete, parts, keys.csm, `{"account_ids": ["a2", "a9"]}`, ""); got.Removed != 1 || got.Participants != 2 {
			t.Errorf("remove: %+v", got)
		}
		list := decode[struct{ Participants []program.Participant }](t, s.do(t, request{target: parts, bearer: keys.read}))
		if len(list.Participants) != 2 || list.Participants[0].AccountID != "a1" || list.Participants[0].Source != "hand" ||
			list.Participants[1].Source != "import" || list.Participants[1].Joined.Format("2006-01-02") != "2026-01-20" {
			t.Errorf("participants %+v", list.Participants)
		}

		// No account pays anything: nobody was a customer at the start.
		res := decode[program.ProgramResults](t, s.do(t, request{target: "/api/v1/programs/webinar/results", bearer: keys.viewer}))
		if res.Participants != 0 || res.NotCustomers != 2 || len(res.Measures) != 2 || res.Measures[0].Verdict.Code != program.VerdictInsufficient ||
			res.Measures[0].Verdict.Text != "not enough accounts to measure reports adoption (participants 0, control 0; at least 2 each)" {
			t.Errorf("results %+v", res)
		}
		corr := decode[program.CorrelationView](t, s.do(t, request{target: "/api/v1/programs/correlations", bearer: keys.viewer}))
		if corr.Customers != 0 || corr.Features == nil || len(corr.Methods) != 3 {
			t.Errorf("correlations %+v", corr)
		}

		put := `{"name": "Reports webinar (recorded)", "action": "video", "start_date": "2026-02-01", "measures": [{"kind": "health"}]}`
		got := decode[program.Program](t, s.do(t, request{method: http.MethodPut, target: "/api/v1/programs/webinar", bearer: keys.manager, body: put}))
		if got.Name != "Reports webinar (recorded)" || got.Start.Format("2006-01-02") != "2026-02-01" || got.Participants != 2 || got.CreatedBy != "manager-key@example.com" {
			t.Errorf("put %+v", got)
		}
		all := decode[struct{ Programs []program.Program }](t, s.do(t, request{target: "/api/v1/programs", bearer: keys.read}))
		if len(all.Programs) != 1 || all.Programs[0].Participants != 2 {
			t.Errorf("list %+v", all)
		}
		if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/programs/webinar", bearer: keys.manager}); w.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", w.Code, w.Body)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/programs/webinar", bearer: keys.read}), http.StatusNotFound)
		checkProblem(t, s.do(t, request{target: "/api/v1/programs/webinar/results", bearer: keys.read}), http.StatusNotFound)

		// Every change is in the audit log: create, 4 participant changes, put, delete.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'program' AND object_id = 'webinar'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 6 {
			t.Errorf("%d audit entries, want 6 (create, add, import, remove, put, delete)", n)
		}
	})
}
