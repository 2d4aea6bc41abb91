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
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

func TestOnboardingAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		signup := time.Now().UTC().AddDate(0, 0, -10).Truncate(24 * time.Hour)
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme", SignupAt: &signup}); err != nil {
			t.Fatal(err)
		}
		if err := usage.AddRollups(ctx, db, "a", []usage.DailyCount{{Day: store.Day(signup.Unix()) + 2, Event: "setup_completed", Count: 1}}, nil); err != nil {
			t.Fatal(err)
		}
		put := func(key, target, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: http.MethodPut, target: target, bearer: key, body: body})
		}
		def := decode[onboarding.OnboardingDefinition](t, s.do(t, request{target: "/api/v1/onboarding/definition", bearer: keys.read}))
		if def.Version != 0 || def.Rule != "setup_done" || def.WindowDays != 30 {
			t.Errorf("default definition %+v", def)
		}
		checkProblem(t, put(keys.csm, "/api/v1/onboarding/definition", `{"rule": "setup_done", "window_days": 30}`), http.StatusForbidden)
		p := checkProblem(t, put(keys.manager, "/api/v1/onboarding/definition", `{"rule": "setup_done && login_week_rat >= 0.6", "window_days": 30}`), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "line 1, column 15") || len(p.Errors) != 1 || p.Errors[0].Location != "body.rule" {
			t.Errorf("typo: %+v", p)
		}
		p = checkProblem(t, put(keys.manager, "/api/v1/onboarding/definition", `{"rule": "setup_done", "applies": "mrr >", "window_days": 30}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.applies" {
			t.Errorf("applies: %+v", p)
		}
		checkProblem(t, put(keys.manager, "/api/v1/onboarding/definition", `{"rule": "setup_done", "window_days": 0}`), http.StatusUnprocessableEntity)
		w := put(keys.manager, "/api/v1/onboarding/definition", `{"rule": "setup_done && login_week_rate >= 0.6", "window_days": 30}`)
		if def = decode[onboarding.OnboardingDefinition](t, w); w.Code != http.StatusOK || def.Version != 1 || !strings.HasPrefix(def.SavedBy, "apikey:") {
			t.Fatalf("put definition: %d %s", w.Code, w.Body)
		}

		checkProblem(t, put(keys.manager, "/api/v1/onboarding/milestones/Setup!", `{"name": "Setup", "position": 1}`), http.StatusUnprocessableEntity)
		for _, body := range []string{`{"name": "Initial setup", "event": "setup_completed", "position": 1}`, `{"name": "Kickoff call", "position": 2}`} {
			id := "setup"
			if strings.Contains(body, "Kickoff") {
				id = "kickoff"
			}
			if w := put(keys.manager, "/api/v1/onboarding/milestones/"+id, body); w.Code != http.StatusOK {
				t.Fatalf("put milestone: %d %s", w.Code, w.Body)
			}
		}
		ms := decode[onboardingMilestoneList](t, s.do(t, request{target: "/api/v1/onboarding/milestones", bearer: keys.read}))
		if len(ms.Milestones) != 2 || ms.Milestones[0].ID != "setup" || ms.Milestones[1].ID != "kickoff" {
			t.Errorf("milestones %+v", ms)
		}
		// A CSM ticks the kickoff by hand.
		w = put(keys.csm, "/api/v1/accounts/a/onboarding/milestones/kickoff", `{"done": true}`)
		if it := decode[onboarding.ChecklistItem](t, w); w.Code != http.StatusOK || !it.Done || it.Source != "manual" || !strings.HasPrefix(it.By, "apikey:") {
			t.Fatalf("check: %d %s", w.Code, w.Body)
		}
		checkProblem(t, put(keys.csm, "/api/v1/accounts/a/onboarding/milestones/nope", `{"done": true}`), http.StatusNotFound)
		checkProblem(t, put(keys.csm, "/api/v1/accounts/zz/onboarding/milestones/kickoff", `{"done": true}`), http.StatusNotFound)

		// No recompute yet: evaluated now. Setup done, one login week of 4: in progress.
		st := decode[onboarding.AccountOnboarding](t, s.do(t, request{target: "/api/v1/accounts/a/onboarding", bearer: keys.read}))
		if st.Status != "in_progress" || st.Final || st.DaysElapsed != 10 || st.WindowDays != 30 || len(st.Checklist) != 2 || !st.Checklist[1].Done || st.Checklist[0].Done {
			t.Errorf("account onboarding %+v", st)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/accounts/zz/onboarding", bearer: keys.read}), http.StatusNotFound)

		rep := decode[onboarding.CompletionReport](t, s.do(t, request{target: "/api/v1/onboarding/report", bearer: keys.read}))
		if rep.Definition.Version != 1 || rep.Overall.Accounts != 1 || rep.Overall.InProgress != 1 || rep.NotEvaluated != 1 || rep.Overall.CompletionRate != nil {
			t.Errorf("report %+v", rep)
		}
		entries, err := audit.List(ctx, db, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, e := range entries {
			kinds[e.ObjectType]++
		}
		if kinds["onboarding_definition"] != 1 || kinds["onboarding_milestone"] != 2 || kinds["onboarding_checklist"] != 1 {
			t.Errorf("audit entries %v", kinds)
		}
	})
}
