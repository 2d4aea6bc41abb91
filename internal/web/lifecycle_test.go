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
	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestLifecycleAPI: stages are edited with their rules checked, a save
// classifies every account at once, accounts carry their stage and can be
// filtered by it, and the history, summary and journey map answer, with
// every change in the audit log.
func TestLifecycleAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		// a pays 2,000 a month (ARR 24,000) since 200 days ago; b paid for
		// a month and stopped (churned); c is a trial prospect.
		start := time.Now().UTC().AddDate(0, 0, -200)
		for _, a := range []account.Account{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}, {ID: "c", Name: "C", Attributes: map[string]any{"lifecycle": "trial"}}} {
			if err := account.Upsert(ctx, db, a); err != nil {
				t.Fatal(err)
			}
		}
		end := start.AddDate(0, 1, 0)
		for _, p := range []billing.Period{
			{SubscriptionID: "sa", AccountID: "a", Start: start, MRRMinor: 200000, Currency: "USD"},
			{SubscriptionID: "sb", AccountID: "b", Start: start, End: &end, MRRMinor: 10000, Currency: "USD"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		get := func(target string) *httptest.ResponseRecorder {
			return s.do(t, request{target: target, bearer: keys.read})
		}
		send := func(method, key, target, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: method, target: target, bearer: key, body: body})
		}

		list := decode[stageList](t, get("/api/v1/stages"))
		if len(list.Stages) != 7 || list.Stages[0].ID != "prospect" || list.Stages[6].ID != "adoption" {
			t.Fatalf("default stages: %+v", list)
		}
		// Before any classification, accounts have no stage.
		acc := decode[accountJSON](t, get("/api/v1/accounts/a"))
		if acc.Stage != nil || acc.StageEnteredAt != nil {
			t.Errorf("stage before any recompute: %v", acc.Stage)
		}

		checkProblem(t, send(http.MethodPost, keys.csm, "/api/v1/stages", `{"stage_id": "big", "name": "Big", "rule": "mrr >= 1000", "priority": 65}`), http.StatusForbidden)
		p := checkProblem(t, send(http.MethodPost, keys.manager, "/api/v1/stages",
			`{"stage_id": "big", "name": "Big", "rule": "mrr >= 1000 && helth_band == \"red\"", "priority": 65}`), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "line 1, column 16") || len(p.Errors) != 1 || p.Errors[0].Location != "body.rule" {
			t.Errorf("typo: %+v", p)
		}
		checkProblem(t, send(http.MethodPost, keys.manager, "/api/v1/stages", `{"stage_id": "summary", "name": "S", "rule": "true", "priority": 1}`), http.StatusUnprocessableEntity)
		// Big (before adoption): saving it classifies a, b and c.
		w := send(http.MethodPost, keys.manager, "/api/v1/stages", `{"stage_id": "big", "name": "Big", "rule": "mrr >= 1000", "priority": 65}`)
		saved := decode[savedStage](t, w)
		if w.Code != http.StatusCreated || saved.Moved != 3 || saved.Priority != 65 || w.Header().Get("Location") != "/api/v1/stages/big" {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		checkProblem(t, send(http.MethodPost, keys.manager, "/api/v1/stages", `{"stage_id": "big", "name": "Big", "rule": "true", "priority": 1}`), http.StatusConflict)

		page := decode[accountPage](t, get("/api/v1/accounts"))
		got := map[string]string{}
		for _, a := range page.Accounts {
			if a.Stage != nil {
				got[a.ID] = *a.Stage
			}
		}
		if want := map[string]string{"a": "big", "b": "churned", "c": "prospect"}; !equalMaps(got, want) {
			t.Errorf("stages in the list %v, want %v", got, want)
		}
		page = decode[accountPage](t, get("/api/v1/accounts?stage=churned"))
		if len(page.Accounts) != 1 || page.Accounts[0].ID != "b" {
			t.Errorf("stage=churned: %+v", page.Accounts)
		}
		acc = decode[accountJSON](t, get("/api/v1/accounts/a"))
		if acc.Stage == nil || *acc.Stage != "big" || acc.StageEnteredAt == nil {
			t.Errorf("account a: stage %v", acc.Stage)
		}
		hist := decode[accountStages](t, get("/api/v1/accounts/a/stages"))
		if hist.Stage == nil || *hist.Stage != "big" || *hist.DaysInStage != 0 || len(hist.Stays) != 1 || hist.Stays[0].LeftAt != nil {
			t.Errorf("history of a: %+v", hist)
		}
		// Before the classification there was no stage.
		hist = decode[accountStages](t, get("/api/v1/accounts/a/stages?at=2020-01-01"))
		if hist.Stage != nil || len(hist.Stays) != 0 {
			t.Errorf("history of a in 2020: %+v", hist)
		}
		checkProblem(t, get("/api/v1/accounts/zz/stages"), http.StatusNotFound)

		sum := decode[lifecycle.Summary](t, get("/api/v1/stages/summary"))
		counts := map[string][2]float64{}
		for _, c := range sum.Stages {
			counts[c.StageID] = [2]float64{float64(c.Accounts), c.ARR}
		}
		if counts["big"] != [2]float64{1, 24000} || counts["churned"] != [2]float64{1, 0} || counts["prospect"] != [2]float64{1, 0} ||
			counts["adoption"] != [2]float64{0, 0} || len(sum.Stages) != 8 || sum.NoStage != 0 || sum.Currency != "USD" {
			t.Errorf("summary %+v", sum)
		}

		jm := decode[journeyMap](t, get("/api/v1/journey"))
		if len(jm.Steps) != 8 || jm.Steps[0].StageID != "prospect" || jm.Steps[0].Accounts != 1 || jm.Steps[0].Goal == "" ||
			jm.Steps[7].StageID != "big" || jm.Steps[7].UpdatedAt != nil || jm.Steps[7].ARR != 24000 || jm.Steps[7].Name != "Big" {
			t.Errorf("journey: %+v", jm.Steps)
		}
		p = checkProblem(t, send(http.MethodPut, keys.manager, "/api/v1/journey/big", `{"position": 4, "goal": "Grow", "playbooks": ["nope"]}`), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.playbooks[0]" {
			t.Errorf("unknown playbook: %+v", p)
		}
		checkProblem(t, send(http.MethodPut, keys.manager, "/api/v1/journey/nope", `{"goal": "x"}`), http.StatusNotFound)
		if _, err := db.ExecContext(ctx, `INSERT INTO playbooks (playbook_id, name, definition, created_at, updated_at)
			VALUES ('grow', 'Grow', '{}', 1, 1)`); err != nil {
			t.Fatal(err)
		}
		w = send(http.MethodPut, keys.manager, "/api/v1/journey/big", `{"position": 4, "goal": "成長する", "touch": {"high": "QBR"}, "playbooks": ["grow"]}`)
		step := decode[lifecycle.JourneyStep](t, w)
		if w.Code != http.StatusOK || step.Goal != "成長する" || step.Touch.High != "QBR" || len(step.Playbooks) != 1 || step.UpdatedAt == nil {
			t.Errorf("put journey: %d %s", w.Code, w.Body)
		}
		jm = decode[journeyMap](t, get("/api/v1/journey"))
		// Position 4 ties with expansion's; expansion's priority (60) is first.
		if jm.Steps[3].StageID != "expansion" || jm.Steps[4].StageID != "big" || jm.Steps[4].Goal != "成長する" || jm.Steps[5].StageID != "renewal" {
			t.Errorf("journey after the put: %v %v %v", jm.Steps[3].StageID, jm.Steps[4].StageID, jm.Steps[5].StageID)
		}

		// Deleting big moves a to adoption.
		w = send(http.MethodDelete, keys.manager, "/api/v1/stages/big", "")
		if del := decode[stageDeleted](t, w); w.Code != http.StatusOK || del.Moved != 1 {
			t.Errorf("delete: %d %s", w.Code, w.Body)
		}
		acc = decode[accountJSON](t, get("/api/v1/accounts/a"))
		if acc.Stage == nil || *acc.Stage != "adoption" {
			t.Errorf("a after the delete: %v", acc.Stage)
		}
		checkProblem(t, send(http.MethodDelete, keys.manager, "/api/v1/stages/big", ""), http.StatusNotFound)

		audit := decode[auditPage](t, s.do(t, request{target: "/api/v1/audit?order=oldest", bearer: keys.manager}))
		var trail []string
		for _, e := range audit.Entries {
			if e.ObjectType == "stage" || e.ObjectType == "journey_step" {
				trail = append(trail, e.Action+" "+e.ObjectType+" "+e.ObjectID)
			}
		}
		if want := "create stage big,create journey_step big,delete stage big"; strings.Join(trail, ",") != want {
			t.Errorf("audit trail %v, want %s", trail, want)
		}
	})
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
