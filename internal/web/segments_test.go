package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/coverage"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSegmentsAndCoverageAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		// a: 2,000/month (ARR 24,000), b: 20,000/month (ARR 240,000), c: none.
		start := time.Now().AddDate(0, -2, 0)
		for id, minor := range map[string]int64{"a": 200000, "b": 2000000, "c": 0} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "N" + id}); err != nil {
				t.Fatal(err)
			}
			if minor > 0 {
				if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s" + id, AccountID: id, Start: start, MRRMinor: minor, Currency: "USD"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		post := func(key, target, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: http.MethodPost, target: target, bearer: key, body: body})
		}
		checkProblem(t, post(keys.csm, "/api/v1/segments", `{"segment_id": "paying", "name": "Paying", "rule": "mrr > 0"}`), http.StatusForbidden)
		p := checkProblem(t, post(keys.manager, "/api/v1/segments", `{"segment_id": "paying", "name": "Paying", "rule": "mrr > 0 && helth_band == \"red\""}`), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "line 1, column 12") || len(p.Errors) != 1 || p.Errors[0].Location != "body.rule" {
			t.Errorf("typo: %+v", p)
		}
		checkProblem(t, post(keys.manager, "/api/v1/segments", `{"segment_id": "Paying!", "name": "Paying", "rule": "mrr > 0"}`), http.StatusUnprocessableEntity)
		w := post(keys.manager, "/api/v1/segments", `{"segment_id": "paying", "name": "Paying", "rule": "mrr > 0"}`)
		saved := decode[savedSegment](t, w)
		if w.Code != http.StatusCreated || saved.Joined != 2 || saved.Members != 2 || w.Header().Get("Location") != "/api/v1/segments/paying" {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		checkProblem(t, post(keys.manager, "/api/v1/segments", `{"segment_id": "paying", "name": "Paying", "rule": "mrr > 0"}`), http.StatusConflict)

		members := decode[segmentMemberPage](t, s.do(t, request{target: "/api/v1/segments/paying/members?limit=1", bearer: keys.read}))
		if len(members.Members) != 1 || members.Members[0].AccountID != "a" || members.Members[0].Since == nil || members.NextCursor != "a" {
			t.Errorf("members page 1: %+v", members)
		}
		members = decode[segmentMemberPage](t, s.do(t, request{target: "/api/v1/segments/paying/members?after=a", bearer: keys.read}))
		if len(members.Members) != 1 || members.Members[0].AccountID != "b" || members.NextCursor != "" {
			t.Errorf("members page 2: %+v", members)
		}
		// Live: a rule change not yet saved is not needed; live evaluates the stored rule now.
		live := decode[segmentMemberPage](t, s.do(t, request{target: "/api/v1/segments/paying/members?live=true", bearer: keys.read}))
		if !live.Live || len(live.Members) != 2 || live.Members[1].Name != "Nb" || live.Members[0].Since != nil {
			t.Errorf("live: %+v", live)
		}

		// Raise the bar: a (MRR 2,000) leaves.
		w = s.do(t, request{method: http.MethodPut, target: "/api/v1/segments/paying", bearer: keys.manager,
			body: `{"name": "Big payers", "rule": "mrr >= 10000"}`})
		saved = decode[savedSegment](t, w)
		if w.Code != http.StatusOK || saved.Left != 1 || saved.Joined != 0 || saved.Name != "Big payers" {
			t.Errorf("put: %d %s", w.Code, w.Body)
		}
		hist := decode[segmentHistoryPage](t, s.do(t, request{target: "/api/v1/segments/paying/history?event=left", bearer: keys.read}))
		if len(hist.Events) != 1 || hist.Events[0].AccountID != "a" || hist.Events[0].Event != "left" {
			t.Errorf("history: %+v", hist)
		}
		all := decode[segmentHistoryPage](t, s.do(t, request{target: "/api/v1/segments/paying/history?limit=2", bearer: keys.read}))
		if len(all.Events) != 2 || all.NextCursor == "" {
			t.Errorf("history page: %+v", all)
		}
		rest := decode[segmentHistoryPage](t, s.do(t, request{target: "/api/v1/segments/paying/history?after=" + all.NextCursor, bearer: keys.read}))
		if len(rest.Events) != 1 {
			t.Errorf("history rest: %+v", rest)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/segments/paying/history?after=zzz", bearer: keys.read}), http.StatusBadRequest)
		checkProblem(t, s.do(t, request{target: "/api/v1/segments/nope/members", bearer: keys.read}), http.StatusNotFound)

		// Coverage: b is high touch (240,000 ≥ 100,000), a low (24,000).
		tiers := decode[coverage.TierReport](t, s.do(t, request{target: "/api/v1/coverage/tiers", bearer: keys.read}))
		if tiers.Customers != 2 || tiers.Tiers[0].Accounts != 1 || tiers.Tiers[1].Accounts != 1 || tiers.High != 100000 || tiers.Basis != "arr" {
			t.Errorf("tiers: %+v", tiers)
		}
		rank := decode[coverage.Ranking](t, s.do(t, request{target: "/api/v1/coverage/ranking?tier=low", bearer: keys.read}))
		if len(rank.Accounts) != 1 || rank.Accounts[0].AccountID != "a" || rank.Accounts[0].Rank != 2 ||
			rank.Accounts[0].CumulativeShare != 1 || rank.TotalARR != 264000 {
			t.Errorf("ranking: %+v", rank)
		}
		// The owner must be a csm or a manager.
		checkProblem(t, s.do(t, request{method: http.MethodPut, target: "/api/v1/accounts/a/owner", bearer: keys.manager,
			body: `{"owner_email": "viewer-key@example.com"}`}), http.StatusUnprocessableEntity)
		checkProblem(t, s.do(t, request{method: http.MethodPut, target: "/api/v1/accounts/zz/owner", bearer: keys.manager,
			body: `{"owner_email": "csm-key@example.com"}`}), http.StatusNotFound)
		w = s.do(t, request{method: http.MethodPut, target: "/api/v1/accounts/a/owner", bearer: keys.manager,
			body: `{"owner_email": "csm-key@example.com"}`})
		if c := decode[coverage.OwnerChange](t, w); w.Code != http.StatusOK || c.To != "csm-key@example.com" {
			t.Errorf("owner: %d %s", w.Code, w.Body)
		}
		// b, the one unassigned customer, goes to the one csm.
		w = post(keys.manager, "/api/v1/coverage/assign", `{"strategy": "round_robin", "dry_run": true}`)
		plan := decode[coverage.Plan](t, w)
		if w.Code != http.StatusOK || len(plan.Assignments) != 1 || plan.Assignments[0].AccountID != "b" || plan.Assignments[0].To != "csm-key@example.com" {
			t.Errorf("assign: %d %s", w.Code, w.Body)
		}
		wl := decode[workloadList](t, s.do(t, request{target: "/api/v1/coverage/workload", bearer: keys.read}))
		var csm *coverage.Workload
		for i := range wl.Workloads {
			if wl.Workloads[i].Email == "csm-key@example.com" {
				csm = &wl.Workloads[i]
			}
		}
		if csm == nil || csm.Accounts != 1 || csm.ARR != 24000 {
			t.Errorf("workload: %+v", wl)
		}

		if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/segments/paying", bearer: keys.manager}); w.Code != http.StatusNoContent {
			t.Errorf("delete: %d %s", w.Code, w.Body)
		}
		entries, err := audit.List(ctx, db, audit.Filter{ObjectType: "segment", ObjectID: "paying", Oldest: true})
		if err != nil || len(entries) != 3 || entries[0].Action != "create" || entries[1].Action != "update" || entries[2].Action != "delete" {
			t.Errorf("audit: %+v, %v", entries, err)
		}
		if es, _ := audit.List(ctx, db, audit.Filter{ObjectType: "account", ObjectID: "a"}); len(es) != 1 {
			t.Errorf("owner audit: %+v", es)
		}
	})
}
