package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/prospect"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestProspectAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		today := time.Now().UTC().Truncate(24 * time.Hour)
		// p1 (undecided) ends in 10 days, p2 (undecided) in 5, p3 (browsing) in 1.
		for _, tr := range []struct {
			id, intent string
			ago        int
		}{{"p1", "undecided", 20}, {"p2", "undecided", 25}, {"p3", "browsing", 29}} {
			started := today.AddDate(0, 0, -tr.ago)
			if err := account.Upsert(ctx, db, account.Account{ID: tr.id, Name: "Trial " + tr.id, Attributes: map[string]any{
				prospect.AttrLifecycle: prospect.LifecycleTrial, prospect.AttrIntent: tr.intent, prospect.AttrStarted: started}}); err != nil {
				t.Fatal(err)
			}
		}
		queue := func() string {
			t.Helper()
			q := decode[struct {
				Prospects []prospect.Prospect `json:"prospects"`
			}](t, s.do(t, request{target: "/api/v1/prospects", bearer: keys.read}))
			var ids []string
			for _, p := range q.Prospects {
				ids = append(ids, p.AccountID+":"+p.Class)
			}
			return strings.Join(ids, " ")
		}
		if got := queue(); got != "p2:undecided p1:undecided p3:browsing" {
			t.Fatalf("queue %q", got)
		}
		patch := func(key, id, body string) *http.Response {
			w := s.do(t, request{method: http.MethodPatch, target: "/api/v1/prospects/" + id, bearer: key, body: body})
			return w.Result()
		}
		checkProblem(t, s.do(t, request{method: http.MethodPatch, target: "/api/v1/prospects/p3", bearer: keys.viewer, body: `{"class": "undecided", "reason": "x"}`}), http.StatusForbidden)
		p := checkProblem(t, s.do(t, request{method: http.MethodPatch, target: "/api/v1/prospects/p3", bearer: keys.csm, body: `{"class": "undecided"}`}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.reason" {
			t.Errorf("override without reason: %+v", p)
		}
		p = checkProblem(t, s.do(t, request{method: http.MethodPatch, target: "/api/v1/prospects/p3", bearer: keys.csm,
			body: `{"trial_criteria": [{"title": "ok", "rule": "setup_done"}, {"title": "typo", "rule": "setup_dne"}]}`}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.trial_criteria[1].rule" {
			t.Errorf("criterion typo: %+v", p)
		}
		if r := patch(keys.csm, "p3", `{"class": "undecided", "reason": "Asked for a pricing call.", "barriers": "Needs SSO", "desired_outcome": "One view of customers",
			"trial_criteria": [{"title": "Setup done", "rule": "setup_done"}]}`); r.StatusCode != http.StatusOK {
			t.Fatalf("patch: %d", r.StatusCode)
		}
		if got := queue(); got != "p3:undecided p2:undecided p1:undecided" {
			t.Errorf("queue after override %q", got)
		}
		w := s.do(t, request{target: "/api/v1/prospects/p3", bearer: keys.read})
		one := decode[prospect.Prospect](t, w)
		if one.ClassFrom != "override" || one.Override == nil || one.Override.By != "csm-key@example.com" || one.Seed.Class != prospect.Browsing ||
			one.Barriers != "Needs SSO" || len(one.Criteria) != 1 || one.Criteria[0].Met {
			t.Errorf("prospect: %s", w.Body)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/prospects/nope", bearer: keys.read}), http.StatusNotFound)

		// Conversion: a manager's change (it records a subscription).
		convert := func(key, id, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: http.MethodPost, target: "/api/v1/prospects/" + id + "/convert", bearer: key, body: body})
		}
		checkProblem(t, convert(keys.csm, "p3", `{"mrr": 49.9}`), http.StatusForbidden)
		checkProblem(t, convert(keys.manager, "p3", `{"mrr": 49.999}`), http.StatusUnprocessableEntity)
		checkProblem(t, convert(keys.manager, "p3", `{"mrr": 10, "currency": "XXX1"}`), http.StatusUnprocessableEntity)
		w = convert(keys.manager, "p3", `{"mrr": 49.9, "plan": "starter", "subscription_id": "sub-p3"}`)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"converted"`) || !strings.Contains(w.Body.String(), `"why_bought":"One view of customers"`) {
			t.Fatalf("convert: %d %s", w.Code, w.Body)
		}
		checkProblem(t, convert(keys.manager, "p3", `{"mrr": 49.9}`), http.StatusConflict)
		periods, err := billing.Periods(ctx, db, "p3")
		if err != nil || len(periods) != 1 || periods[0].MRRMinor != 4990 || periods[0].Plan != "starter" {
			t.Errorf("periods %+v %v", periods, err)
		}
		plan := decode[PlanOut](t, s.do(t, request{target: "/api/v1/accounts/p3/success-plan", bearer: keys.read}))
		if len(plan.Goals) != 1 || plan.Goals[0].Rule != "setup_done" || plan.Goals[0].Source != "prospect" {
			t.Errorf("plan after conversion: %+v", plan)
		}
		if got := queue(); got != "p2:undecided p1:undecided" {
			t.Errorf("queue after conversion %q", got)
		}
		if r := patch(keys.csm, "p1", `{"status": "lost"}`); r.StatusCode != http.StatusOK {
			t.Errorf("lost: %d", r.StatusCode)
		}
		w = s.do(t, request{target: "/api/v1/prospects/conversion", bearer: keys.read})
		rates := decode[struct {
			Classes []prospect.ClassConversion `json:"classes"`
		}](t, w)
		// undecided: p2 open, p1 lost, p3 converted (its class by hand when it converted).
		u := rates.Classes[0]
		if len(rates.Classes) != 4 || u.Class != "undecided" || u.Prospects != 3 || u.Converted != 1 || u.Lost != 1 || u.Open != 1 ||
			*u.ConversionRate != 1.0/3 || *u.CloseRate != 0.5 || rates.Classes[2].Prospects != 0 || rates.Classes[2].ConversionRate != nil {
			t.Errorf("rates: %s", w.Body)
		}
	})
}

func TestHandoffCompletenessAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		start := time.Now().AddDate(0, -1, 0)
		for id, minor := range map[string]int64{"big": 90000, "small": 10000, "done": 50000} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
			if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: id, AccountID: id, Start: start, MRRMinor: minor, Currency: "USD"}); err != nil {
				t.Fatal(err)
			}
		}
		w := s.do(t, request{method: http.MethodPut, target: "/api/v1/handoffs/done", bearer: keys.csm, body: `{"why_bought": "a", "challenges": "b",
			"proposed": "c", "promised": "d", "success_criteria": "e", "decision_makers": "f"}`})
		if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"completeness":{"percent":100,"complete":true,"filled":6,"total":6,"missing":[]}`) {
			t.Errorf("complete handoff: %d %s", w.Code, w.Body)
		}
		w = s.do(t, request{method: http.MethodPut, target: "/api/v1/handoffs/small", bearer: keys.csm, body: `{"why_bought": "a", "promised": "tbd"}`})
		if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"missing":["challenges","proposed","promised","success_criteria","decision_makers"]`) {
			t.Errorf("partial handoff: %d %s", w.Code, w.Body)
		}
		if w := s.do(t, request{target: "/api/v1/handoffs", bearer: keys.read}); strings.Count(w.Body.String(), `"completeness"`) != 2 {
			t.Errorf("list: %s", w.Body)
		}
		w = s.do(t, request{target: "/api/v1/handoffs/missing", bearer: keys.read})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"account_id":"big"`) || strings.Contains(w.Body.String(), `"small"`) ||
			!strings.Contains(w.Body.String(), `"missing":1`) {
			t.Errorf("missing: %s", w.Body)
		}
		w = s.do(t, request{target: "/api/v1/handoffs/missing?incomplete=true", bearer: keys.read})
		body := w.Body.String()
		if !strings.Contains(body, `"incomplete":1`) || strings.Index(body, `"big"`) > strings.Index(body, `"small"`) || strings.Contains(body, `"done"`) {
			t.Errorf("missing or incomplete: %s", body)
		}
	})
}
