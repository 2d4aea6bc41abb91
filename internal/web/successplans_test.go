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
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSuccessPlanAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		if err := account.Upsert(ctx, db, account.Account{ID: "a", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		// MRR 500.
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s", AccountID: "a", Start: time.Now().AddDate(0, -1, 0),
			MRRMinor: 50000, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		do := func(key, method, target, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: method, target: target, bearer: key, body: body})
		}
		base := "/api/v1/accounts/a/success-plan"
		checkProblem(t, do(keys.read, "GET", base, ""), http.StatusNotFound)
		checkProblem(t, do(keys.viewer, "PUT", base, `{}`), http.StatusForbidden)
		checkProblem(t, do(keys.csm, "PUT", "/api/v1/accounts/nope/success-plan", `{}`), http.StatusNotFound)

		w := do(keys.csm, "PUT", base, `{"language": "ja"}`)
		plan := decode[PlanOut](t, w)
		if w.Code != http.StatusCreated || plan.Title != "Acme" || plan.Language != "ja" || plan.OwnerEmail != "csm-key@example.com" ||
			plan.Handoff.Exists || plan.Handoff.Completeness.Percent != 0 || len(plan.Goals) != 0 {
			t.Fatalf("put plan: %d %s", w.Code, w.Body)
		}
		p := checkProblem(t, do(keys.csm, "POST", base+"/goals", `{"title": "Grow", "tracking": "metric", "metric": "mrrr", "target": 1000}`),
			http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.metric" || !strings.Contains(p.Detail, "line 1, column 1") {
			t.Errorf("typo in metric: %+v", p)
		}
		w = do(keys.csm, "POST", base+"/goals", `{"title": "Double MRR", "tracking": "metric", "metric": "mrr", "target": 1000, "status": "agreed", "due_at": "2030-01-31"}`)
		goal := decode[struct {
			GoalID   string `json:"goal_id"`
			Progress struct {
				Percent float64  `json:"percent"`
				Value   *float64 `json:"value"`
			} `json:"progress"`
		}](t, w)
		// 500 of 1,000: 50%.
		if w.Code != http.StatusCreated || goal.Progress.Percent != 50 || goal.Progress.Value == nil || *goal.Progress.Value != 500 ||
			w.Header().Get("Location") != base+"/goals/"+goal.GoalID {
			t.Fatalf("create goal: %d %s", w.Code, w.Body)
		}
		w = do(keys.csm, "PUT", base+"/goals/"+goal.GoalID, `{"title": "Double MRR", "tracking": "rule", "rule": "mrr >= 400", "status": "agreed"}`)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"percent":100`) || !strings.Contains(w.Body.String(), `"met":true`) {
			t.Errorf("put goal: %d %s", w.Code, w.Body)
		}
		w = do(keys.csm, "POST", base+"/milestones", `{"title": "Kick-off", "goal_id": "`+goal.GoalID+`", "due_at": "2020-01-01", "owner_email": "Kei@Example.com"}`)
		if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"overdue":true`) || !strings.Contains(w.Body.String(), `"owner_email":"kei@example.com"`) {
			t.Errorf("create milestone: %d %s", w.Code, w.Body)
		}
		checkProblem(t, do(keys.csm, "POST", base+"/milestones", `{"title": "x", "goal_id": "g_nope"}`), http.StatusUnprocessableEntity)

		// The handoff offers its criteria; from-handoff makes them goals once.
		checkProblem(t, do(keys.csm, "POST", base+"/goals/from-handoff", ""), http.StatusNotFound)
		w = do(keys.csm, "PUT", "/api/v1/handoffs/a", `{"why_bought": "Churn", "success_criteria": "Reports used weekly\nNPS above 40"}`)
		if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), `"percent":33`) {
			t.Fatalf("put handoff: %d %s", w.Code, w.Body)
		}
		plan = decode[PlanOut](t, do(keys.read, "GET", base, ""))
		if !plan.Handoff.Exists || len(plan.Handoff.Suggestions) != 2 || plan.Handoff.Suggestions[0].Title != "Reports used weekly" {
			t.Errorf("suggestions: %+v", plan.Handoff)
		}
		w = do(keys.csm, "POST", base+"/goals/from-handoff", "")
		if w.Code != http.StatusOK || strings.Count(w.Body.String(), `"source":"handoff"`) != 2 || !strings.Contains(w.Body.String(), `"plan_created":false`) {
			t.Errorf("from handoff: %d %s", w.Code, w.Body)
		}
		w = do(keys.csm, "POST", base+"/goals/from-handoff", "")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"goals":[]`) {
			t.Errorf("from handoff again: %d %s", w.Code, w.Body)
		}
		plan = decode[PlanOut](t, do(keys.read, "GET", base, ""))
		// One agreed goal met (100), two drafts: the plan's progress is the agreed goal's.
		if len(plan.Goals) != 3 || len(plan.Handoff.Suggestions) != 0 || plan.Progress == nil || *plan.Progress != 100 || len(plan.Milestones) != 1 {
			t.Errorf("plan: %+v", plan)
		}

		entries, err := audit.List(ctx, db, audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, e := range entries {
			counts[e.ObjectType+" "+e.Action]++
		}
		if counts["success_plan create"] != 1 || counts["success_goal create"] != 3 || counts["success_goal update"] != 1 || counts["success_milestone create"] != 1 {
			t.Errorf("audit: %v", counts)
		}

		w = do(keys.csm, "DELETE", base+"/goals/"+goal.GoalID, "")
		if w.Code != http.StatusNoContent {
			t.Errorf("delete goal: %d %s", w.Code, w.Body)
		}
		checkProblem(t, do(keys.csm, "DELETE", base+"/goals/"+goal.GoalID, ""), http.StatusNotFound)
		if list := do(keys.read, "GET", "/api/v1/success-plans?status=draft", ""); !strings.Contains(list.Body.String(), `"account_id":"a"`) {
			t.Errorf("list: %s", list.Body)
		}
		if w := do(keys.csm, "DELETE", base, ""); w.Code != http.StatusNoContent {
			t.Errorf("delete plan: %d %s", w.Code, w.Body)
		}
		checkProblem(t, do(keys.read, "GET", base, ""), http.StatusNotFound)
	})
}

// sharePlan makes a plan for account id in lang with an agreed goal, a
// draft goal and a milestone, and a link to it; it returns the token.
func sharePlan(t *testing.T, s *testServer, key, id, lang string) string {
	t.Helper()
	base := "/api/v1/accounts/" + id + "/success-plan"
	steps := []struct{ method, target, body string }{
		{"PUT", base, `{"title": "Plan of ` + id + `", "language": "` + lang + `"}`},
		{"POST", base + "/goals", `{"title": "Agreed goal of ` + id + ` <script>alert(1)</script>", "tracking": "rule", "rule": "mrr >= 123456", "status": "agreed", "description": "What ` + id + ` wants"}`},
		{"POST", base + "/goals", `{"title": "Draft goal of ` + id + `", "status": "draft"}`},
	}
	var goalID string
	for i, st := range steps {
		w := s.do(t, request{method: st.method, target: st.target, bearer: key, body: st.body})
		if w.Code != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", st.method, st.target, w.Code, w.Body)
		}
		if i == 1 {
			goalID = decode[struct {
				GoalID string `json:"goal_id"`
			}](t, w).GoalID
		}
	}
	w := s.do(t, request{method: "POST", target: base + "/milestones", bearer: key,
		body: `{"title": "Milestone of ` + id + `", "goal_id": "` + goalID + `", "status": "done"}`})
	if w.Code != http.StatusCreated {
		t.Fatalf("milestone: %d %s", w.Code, w.Body)
	}
	w = s.do(t, request{method: "POST", target: base + "/shares", bearer: key})
	share := decode[NewShare](t, w)
	if w.Code != http.StatusCreated || share.URL != "/share/"+share.Token || len(share.Token) != 55 {
		t.Fatalf("share: %d %s", w.Code, w.Body)
	}
	return share.Token
}

func TestSharedPlanPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		for _, id := range []string{"a", "b"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "Company " + strings.ToUpper(id)}); err != nil {
				t.Fatal(err)
			}
		}
		tokenA := sharePlan(t, s, keys.csm, "a", "en")
		tokenB := sharePlan(t, s, keys.csm, "b", "ja")

		// No credentials at all: the link is the credential.
		w := s.do(t, request{target: "/share/" + tokenA})
		body := w.Body.String()
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("GET share: %d %s %s", w.Code, w.Header().Get("Content-Type"), body)
		}
		for _, want := range []string{`<html lang="en">`, "Plan of a", "Company A", "Agreed goal of a &lt;script&gt;alert(1)&lt;/script&gt;",
			"What a wants", "Milestone of a", "Our goals", `value="0"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q:\n%s", want, body)
			}
		}
		// Only a's agreed goal: not its draft, not its rule, nothing of b.
		for _, bad := range []string{"Draft goal", "123456", "mrr", "<script>", "of b", "Company B", "b wants"} {
			if strings.Contains(body, bad) {
				t.Errorf("page shows %q:\n%s", bad, body)
			}
		}
		h := w.Header()
		if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("X-Robots-Tag"), "noindex") || h.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(body, `<meta name="robots" content="noindex`) {
			t.Errorf("headers %v", h)
		}
		// The UI's stylesheet and nothing else: no script, no form target.
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || !strings.Contains(csp, "form-action 'none'") ||
			!strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(body, "<style") {
			t.Errorf("CSP %q does not allow exactly the page's stylesheet", csp)
		}
		if strings.Contains(body, "<form") || strings.Contains(body, "<script") || strings.Contains(body, "<input") {
			t.Error("the page has something to edit or run")
		}

		// In the customer's language.
		w = s.do(t, request{target: "/share/" + tokenB})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<html lang="ja">`) || !strings.Contains(w.Body.String(), "サクセスプラン") ||
			!strings.Contains(w.Body.String(), "完了") || strings.Contains(w.Body.String(), "of a") {
			t.Errorf("ja page: %d %s", w.Code, w.Body)
		}

		// Nothing but GET (and HEAD).
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if w := s.do(t, request{method: m, target: "/share/" + tokenA, body: `{}`}); w.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s share = %d, want 405", m, w.Code)
			}
		}
		if w := s.do(t, request{method: http.MethodHead, target: "/share/" + tokenA}); w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Errorf("HEAD share = %d with %d bytes", w.Code, w.Body.Len())
		}

		// Unknown and malformed tokens: 404, also no-store.
		unknown := "sp_" + strings.Repeat("a", 52)
		for _, tok := range []string{unknown, "nope", tokenA + "x", strings.ToUpper(tokenA)} {
			w := s.do(t, request{target: "/share/" + tok})
			if w.Code != http.StatusNotFound || w.Header().Get("Cache-Control") != "no-store" || strings.Contains(w.Body.String(), "Company") {
				t.Errorf("GET share %q = %d %s", tok, w.Code, w.Body)
			}
		}

		// Revoked: 410 at once, in the plan's language; b's link still works.
		list := decode[struct {
			Shares []struct {
				ShareID string `json:"share_id"`
			} `json:"shares"`
		}](t, s.do(t, request{target: "/api/v1/accounts/a/success-plan/shares", bearer: keys.read}))
		if len(list.Shares) != 1 {
			t.Fatalf("shares: %+v", list)
		}
		checkProblem(t, s.do(t, request{method: "DELETE", target: "/api/v1/accounts/b/success-plan/shares/" + list.Shares[0].ShareID, bearer: keys.csm}),
			http.StatusNotFound)
		w = s.do(t, request{method: "DELETE", target: "/api/v1/accounts/a/success-plan/shares/" + list.Shares[0].ShareID, bearer: keys.csm})
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"revoked_at"`) {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		w = s.do(t, request{target: "/share/" + tokenA})
		if w.Code != http.StatusGone || w.Header().Get("Cache-Control") != "no-store" || !strings.Contains(w.Body.String(), "revoked") ||
			strings.Contains(w.Body.String(), "Agreed goal") {
			t.Errorf("revoked link: %d %s", w.Code, w.Body)
		}
		if w := s.do(t, request{target: "/share/" + tokenB}); w.Code != http.StatusOK {
			t.Errorf("b's link after a's was revoked: %d", w.Code)
		}
		// A revoked link of a Japanese plan says so in Japanese; an unknown one follows the browser.
		listB := decode[struct {
			Shares []struct {
				ShareID string `json:"share_id"`
			} `json:"shares"`
		}](t, s.do(t, request{target: "/api/v1/accounts/b/success-plan/shares", bearer: keys.read}))
		s.do(t, request{method: "DELETE", target: "/api/v1/accounts/b/success-plan/shares/" + listB.Shares[0].ShareID, bearer: keys.csm})
		if w := s.do(t, request{target: "/share/" + tokenB}); w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "取り消されました") {
			t.Errorf("revoked ja link: %d %s", w.Code, w.Body)
		}
		if w := s.do(t, request{target: "/share/" + unknown, header: http.Header{"Accept-Language": {"ja-JP,ja;q=0.9"}}}); w.Code != http.StatusNotFound ||
			!strings.Contains(w.Body.String(), "ページが見つかりません") {
			t.Errorf("unknown link in ja: %d %s", w.Code, w.Body)
		}
		// The token is a credential: the request log has the route, not the link.
		if logs := s.log.String(); strings.Contains(logs, tokenA[3:]) || strings.Contains(logs, tokenB[3:]) || !strings.Contains(logs, "path=/share/{token}") {
			t.Errorf("the log holds a share token or lacks the share requests:\n%s", logs)
		}
		entries, err := audit.List(ctx, db, audit.Filter{ObjectType: "success_plan_share", Limit: 10})
		if err != nil || len(entries) != 4 || entries[0].Action != audit.ActionRevoke {
			t.Errorf("audit of links: %+v %v", entries, err)
		}
	})
}
