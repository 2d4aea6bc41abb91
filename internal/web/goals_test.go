package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/goal"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestGoalAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		// One account paying 100 a month since a year ago: MRR 100 at every
		// month-end, so an MRR goal of 150 has a flat trend and is off track.
		if err := account.Upsert(ctx, db, account.Account{ID: "a1", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		start := time.Now().UTC().AddDate(-1, 0, 0)
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s1", AccountID: "a1", Start: start, MRRMinor: 10000, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().UTC().AddDate(1, 0, 0).Format(time.DateOnly)
		body := `{"id": "mrr-up", "name": "More MRR", "metric": "mrr", "target": 150, "deadline": "` + deadline + `", "owner_email": "manager-key@example.com"}`
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/goals", bearer: keys.csm, body: body}), http.StatusForbidden)
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/goals", bearer: keys.viewer, body: body}), http.StatusForbidden)
		for _, tc := range []struct{ body, location, message string }{
			{`{"id": "x", "name": "X", "metric": "revenue", "target": 1, "deadline": "2030-01-01", "owner_email": "manager-key@example.com"}`,
				"body.metric", `unknown metric "revenue": use one of mrr, arr,`},
			{`{"id": "x", "name": "X", "metric": "mrr", "target": 1, "deadline": "01/01/2030", "owner_email": "manager-key@example.com"}`,
				"body.deadline", "want YYYY-MM-DD"},
			{`{"id": "x", "name": "X", "metric": "mrr", "target": 1, "deadline": "2030-01-01", "owner_email": "nobody@example.com"}`,
				"body.owner_email", "no user nobody@example.com"},
			{`{"id": "x", "name": "X", "metric": "mrr", "target": 1, "deadline": "2030-01-01", "owner_email": "manager-key@example.com", "parent_id": "nope"}`,
				"body.parent_id", `no goal "nope"`},
			{`{"id": "x", "name": "X", "metric": "mrr", "target": 1, "deadline": "2030-01-01", "owner_email": "manager-key@example.com", "scope": {"by": "owner"}}`,
				"body.scope.value", "required with scope.by owner"},
		} {
			p := checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/goals", bearer: keys.manager, body: tc.body}), http.StatusUnprocessableEntity)
			if len(p.Errors) == 0 || p.Errors[0].Location != tc.location || !strings.Contains(p.Errors[0].Message, tc.message) {
				t.Errorf("%s: %+v, want %s: %s", tc.body, p, tc.location, tc.message)
			}
		}
		w := s.do(t, request{method: http.MethodPost, target: "/api/v1/goals", bearer: keys.manager, body: body})
		if w.Code != http.StatusCreated || w.Header().Get("Location") != "/api/v1/goals/mrr-up" {
			t.Fatalf("create: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
		}
		created := decode[goal.Goal](t, w)
		if created.Direction != goal.AtLeast || created.CreatedBy != "manager-key@example.com" ||
			created.Start.Format(time.DateOnly) != time.Now().UTC().Format(time.DateOnly) {
			t.Errorf("created %+v", created)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/goals", bearer: keys.manager, body: body}), http.StatusConflict)
		child := `{"id": "churn-down", "name": "Less churn", "metric": "logo_churn_rate", "target": 0.01, "deadline": "` +
			time.Now().UTC().AddDate(0, 6, 0).Format(time.DateOnly) + `", "owner_email": "csm-key@example.com", "parent_id": "mrr-up"}`
		if w := s.do(t, request{method: http.MethodPost, target: "/api/v1/goals", bearer: keys.manager, body: child}); w.Code != http.StatusCreated {
			t.Fatalf("child: %d %s", w.Code, w.Body)
		}

		got := decode[goal.TrackedGoal](t, s.do(t, request{target: "/api/v1/goals/mrr-up", bearer: keys.viewer}))
		// Six month-ends of 100 (the start is this month, so the window
		// reaches six months back): latest 100, baseline 100, flat trend,
		// forecast 100 < 150 by more than 10% of 50: off track.
		tr := got.Tracking
		if len(tr.Actuals) != 6 || tr.Latest == nil || *tr.Latest.Value != 100 || tr.Baseline == nil || *tr.Baseline != 100 ||
			tr.Progress == nil || *tr.Progress != 0 || tr.Forecast == nil || *tr.Forecast != 100 || tr.Status != goal.StatusOffTrack {
			t.Errorf("tracking %+v", tr)
		}
		if len(got.Children) != 1 || got.Children[0].ID != "churn-down" || got.Children[0].Status != goal.StatusAchieved {
			t.Errorf("children %+v", got.Children)
		}
		list := decode[struct{ Goals []goal.TrackedGoal }](t, s.do(t, request{target: "/api/v1/goals", bearer: keys.read}))
		if len(list.Goals) != 2 || list.Goals[0].ID != "mrr-up" || list.Goals[1].ID != "churn-down" {
			t.Errorf("list %+v", list.Goals)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/goals/ghost", bearer: keys.read}), http.StatusNotFound)

		put := `{"name": "More MRR", "metric": "mrr", "target": 90, "deadline": "` + deadline + `", "owner_email": "manager-key@example.com"}`
		checkProblem(t, s.do(t, request{method: http.MethodPut, target: "/api/v1/goals/mrr-up", bearer: keys.viewer, body: put}), http.StatusForbidden)
		if w := s.do(t, request{method: http.MethodPut, target: "/api/v1/goals/mrr-up", bearer: keys.manager, body: put}); w.Code != http.StatusOK ||
			decode[goal.Goal](t, w).Target != 90 {
			t.Fatalf("put: %d %s", w.Code, w.Body)
		}
		if got := decode[goal.TrackedGoal](t, s.do(t, request{target: "/api/v1/goals/mrr-up", bearer: keys.viewer})); got.Tracking.Status != goal.StatusAchieved {
			t.Errorf("after put: %+v", got.Tracking)
		}
		p := checkProblem(t, s.do(t, request{method: http.MethodDelete, target: "/api/v1/goals/mrr-up", bearer: keys.manager}), http.StatusConflict)
		if !strings.Contains(p.Detail, "churn-down") {
			t.Errorf("delete a parent: %+v", p)
		}
		for _, id := range []string{"churn-down", "mrr-up"} {
			if w := s.do(t, request{method: http.MethodDelete, target: "/api/v1/goals/" + id, bearer: keys.manager}); w.Code != http.StatusNoContent {
				t.Fatalf("delete %s: %d %s", id, w.Code, w.Body)
			}
		}
		entries, err := audit.List(ctx, db, audit.Filter{ObjectType: "goal", ObjectID: "mrr-up"})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "delete,update,create" && strings.Join(actions, ",") != "create,update,delete" {
			t.Errorf("audit %v", actions)
		}
	})
}
