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
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// A default model: MRR of at least 100 scores 100, less scores 0.
const healthModelJSON = `{"id": "default", "name": "Default", "measures": [
	{"name": "MRR", "field": "mrr", "thresholds": [{"min": 0, "score": 0}, {"min": 100, "score": 100}], "weight": 1}]}`

func TestHealthAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		for _, id := range []string{"a", "b"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s", AccountID: "a", Start: time.Now().AddDate(0, -2, 0), MRRMinor: 20000, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		post := func(key, target, body string) *httptest.ResponseRecorder {
			return s.do(t, request{method: http.MethodPost, target: target, bearer: key, body: body})
		}
		// Writing models needs a manager.
		checkProblem(t, post(keys.csm, "/api/v1/health/models", healthModelJSON), http.StatusForbidden)
		// A typo: 422 naming the measure, the part and the position.
		bad := strings.Replace(healthModelJSON, `"field": "mrr"`, `"field": "mrrr"`, 1)
		p := checkProblem(t, post(keys.manager, "/api/v1/health/models", bad), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, `measure "MRR": field: line 1, column 1: unknown name mrrr (did you mean mrr?)`) {
			t.Errorf("detail %q", p.Detail)
		}
		w := post(keys.manager, "/api/v1/health/models", healthModelJSON)
		if m := decode[health.Model](t, w); w.Code != http.StatusCreated || m.Version != 1 || *m.Bands.RedBelow != 40 {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
		checkProblem(t, post(keys.manager, "/api/v1/health/models", healthModelJSON), http.StatusConflict)
		w = s.do(t, request{method: http.MethodPut, target: "/api/v1/health/models/default", bearer: keys.manager,
			body: strings.Replace(healthModelJSON, `"Default"`, `"Base"`, 1)})
		if m := decode[health.Model](t, w); w.Code != http.StatusOK || m.Version != 2 || m.Name != "Base" {
			t.Fatalf("replace: %d %s", w.Code, w.Body)
		}
		w = s.do(t, request{target: "/api/v1/health/models/export", bearer: keys.read})
		f := decode[health.File](t, w)
		if w.Code != http.StatusOK || len(f.Models) != 1 || f.Models[0].Name != "Base" || f.Models[0].Version != 0 {
			t.Fatalf("export: %d %s", w.Code, w.Body)
		}
		// An import with one bad model writes nothing.
		two := `{"models": [` + healthModelJSON + `, ` + strings.Replace(strings.Replace(healthModelJSON, `"default"`, `"ent"`, 1),
			`"name": "Default",`, `"name": "Ent", "applies_to": "plan ==",`, 1) + `]}`
		p = checkProblem(t, post(keys.manager, "/api/v1/health/models/import", two), http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, `model "ent": applies_to: line 1`) {
			t.Errorf("import detail %q", p.Detail)
		}
		if w := s.do(t, request{target: "/api/v1/health/models/default", bearer: keys.read}); decode[health.Model](t, w).Name != "Base" {
			t.Errorf("a failed import changed the models: %s", w.Body)
		}
		w = post(keys.manager, "/api/v1/health/models/import", `{"models": [`+healthModelJSON+`]}`)
		if ms := decode[[]health.Model](t, w); w.Code != http.StatusOK || len(ms) != 1 || ms[0].Version != 3 || ms[0].Name != "Default" {
			t.Fatalf("import: %d %s", w.Code, w.Body)
		}
		// Preview: a scores 100 (green), b 0 (red).
		w = post(keys.read, "/api/v1/health/models/preview", healthModelJSON)
		pv := decode[healthPreviewResult](t, w)
		if w.Code != http.StatusOK || pv.Accounts != 2 || pv.Applies != 2 || pv.Bands["green"] != 1 || pv.Bands["red"] != 1 || pv.Histogram[0] != 1 || pv.Histogram[9] != 1 {
			t.Errorf("preview: %d %s", w.Code, w.Body)
		}
		w = post(keys.read, "/api/v1/health/models/preview", strings.Replace(healthModelJSON, `"name": "Default",`, `"applies_to": "customer",`, 1))
		if pv := decode[healthPreviewResult](t, w); pv.Applies != 1 || pv.Bands["green"] != 1 || pv.Bands["red"] != 0 {
			t.Errorf("preview with applies_to: %s", w.Body)
		}

		// Account health: 404 before the first recompute.
		checkProblem(t, s.do(t, request{target: "/api/v1/accounts/a/health", bearer: keys.read}), http.StatusNotFound)
		st, err := health.NewStage(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		snaps, err := snapshot.All(ctx, db, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(ctx, db, time.Now(), snaps); err != nil {
			t.Fatal(err)
		}
		w = s.do(t, request{target: "/api/v1/accounts/a/health", bearer: keys.read})
		if h := decode[health.AccountHealth](t, w); w.Code != http.StatusOK || h.Score != 100 || h.Band != "green" || len(h.Contributions) != 1 ||
			h.Contributions[0].Value != 200 || len(h.Trend.History) != 1 {
			t.Errorf("health: %d %s", w.Code, w.Body)
		}
		// Overrides: a CSM may set one; a viewer may not.
		checkProblem(t, s.do(t, request{method: http.MethodPut, target: "/api/v1/accounts/a/health/override", bearer: keys.viewer,
			body: `{"band": "red", "reason": "champion left"}`}), http.StatusForbidden)
		checkProblem(t, s.do(t, request{method: http.MethodPut, target: "/api/v1/accounts/a/health/override", bearer: keys.csm,
			body: `{"band": "red", "score": 10, "reason": "champion left"}`}), http.StatusUnprocessableEntity)
		checkProblem(t, s.do(t, request{method: http.MethodPut, target: "/api/v1/accounts/zz/health/override", bearer: keys.csm,
			body: `{"band": "red", "reason": "champion left"}`}), http.StatusNotFound)
		w = s.do(t, request{method: http.MethodPut, target: "/api/v1/accounts/a/health/override", bearer: keys.csm,
			body: `{"band": "red", "reason": "champion left"}`})
		o := decode[health.Override](t, w)
		if w.Code != http.StatusOK || o.Author != "csm-key@example.com" || o.ExpiresAt.Sub(o.SetAt) != 30*24*time.Hour {
			t.Errorf("override: %d %s", w.Code, w.Body)
		}
		w = s.do(t, request{target: "/api/v1/accounts/a/health", bearer: keys.read})
		if h := decode[health.AccountHealth](t, w); h.Override == nil || h.Override.Reason != "champion left" {
			t.Errorf("health with override: %s", w.Body)
		}
		if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/accounts/a/health/override", bearer: keys.csm}); w.Code != http.StatusOK {
			t.Errorf("clear: %d %s", w.Code, w.Body)
		}
		checkProblem(t, s.do(t, request{method: http.MethodDelete, target: "/api/v1/accounts/a/health/override", bearer: keys.csm}), http.StatusNotFound)

		// Sentiment.
		checkProblem(t, post(keys.csm, "/api/v1/accounts/a/sentiment", `{"sentiment": "blue"}`), http.StatusUnprocessableEntity)
		w = post(keys.csm, "/api/v1/accounts/a/sentiment", `{"sentiment": "yellow", "note": "quiet lately"}`)
		if sn := decode[account.Sentiment](t, w); w.Code != http.StatusCreated || sn.SetBy != "csm-key@example.com" {
			t.Errorf("sentiment: %d %s", w.Code, w.Body)
		}
		w = s.do(t, request{target: "/api/v1/accounts/a/sentiment", bearer: keys.read})
		if ss := decode[[]account.Sentiment](t, w); len(ss) != 1 || ss[0].Note != "quiet lately" {
			t.Errorf("sentiments: %s", w.Body)
		}
		// Every change is audited: create, replace, import, override set and cleared, sentiment.
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE object_type IN ('health_model', 'health_models', 'health_override', 'csm_sentiment')`).Scan(&n); err != nil || n != 6 {
			t.Errorf("audit entries %d %v, want 6", n, err)
		}

		w = s.do(t, request{target: "/api/v1/health/models/default/backtest", bearer: keys.read})
		if bt := decode[health.Backtest](t, w); w.Code != http.StatusOK || bt.ModelID != "default" {
			t.Errorf("backtest: %d %s", w.Code, w.Body)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/health/models/nope/backtest", bearer: keys.read}), http.StatusNotFound)
		checkProblem(t, s.do(t, request{method: http.MethodDelete, target: "/api/v1/health/models/nope", bearer: keys.manager}), http.StatusNotFound)
		if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/health/models/default", bearer: keys.manager}); w.Code != http.StatusNoContent {
			t.Errorf("delete: %d %s", w.Code, w.Body)
		}
	})
}
