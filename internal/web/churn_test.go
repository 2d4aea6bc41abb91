package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/churn"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestChurnAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		// 20 accounts since 2023-01-01: basic a01–a10 (a01–a06 stop on
		// 2024-02-01), pro a11–a20 (a11, a12 stop then).
		start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
		stop := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
		for i := 1; i <= 20; i++ {
			p := billing.Period{SubscriptionID: fmt.Sprintf("s%02d", i), AccountID: fmt.Sprintf("a%02d", i), Start: start, MRRMinor: 10000, Currency: "USD", Plan: "basic"}
			if i > 10 {
				p.Plan = "pro"
			}
			if i <= 6 || i == 11 || i == 12 {
				p.End = &stop
			}
			if err := account.Upsert(ctx, db, account.Account{ID: p.AccountID}); err != nil {
				t.Fatal(err)
			}
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}
		w := s.do(t, request{method: http.MethodPost, target: "/api/v1/churn/train", bearer: keys.manager,
			body: `{"as_of": "2024-01-01", "lambda": 0.000001, "top": 2}`})
		if w.Code != http.StatusOK {
			t.Fatalf("train: %d %s", w.Code, w.Body)
		}
		res := decode[churnTrainResult](t, w)
		if res.Accounts != 20 || res.Churned != 8 || len(res.Drivers) != 1 || res.Drivers[0].Feature != "plan=basic" ||
			math.Abs(res.Drivers[0].Coefficient-0.5*math.Log(6)) > 1e-4 || len(res.TopRisk) != 2 || res.TopRisk[0].AccountID != "a07" {
			t.Errorf("train: %s", w.Body)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/churn/train", bearer: keys.viewer, body: `{}`}), http.StatusForbidden)
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/churn/train", bearer: keys.manager, body: `{"as_of": "2020-01-01"}`}), http.StatusUnprocessableEntity)
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/churn/train", bearer: keys.manager, body: `{"as_of": "soon"}`}), http.StatusUnprocessableEntity)

		w = s.do(t, request{target: "/api/v1/churn/survival?by=plan&unit=month&at=2024-06-01", bearer: keys.read})
		out := decode[struct {
			Curves []struct {
				Group  string   `json:"group"`
				N      int      `json:"n"`
				Median *float64 `json:"median"`
			} `json:"curves"`
		}](t, w)
		// basic: 6 of 10 stop after 13 months (S = 0.4): median 13; pro: S = 0.8.
		if w.Code != http.StatusOK || len(out.Curves) != 2 || out.Curves[0].Median == nil || *out.Curves[0].Median != 13 || out.Curves[1].Median != nil {
			t.Errorf("survival: %d %s", w.Code, w.Body)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/churn/survival?by=colour", bearer: keys.read}), http.StatusBadRequest)

		if _, err := churn.StoreScores(ctx, db, []churn.Risk{{AccountID: "a07", Probability: 0.6}, {AccountID: "a13", Probability: 0.2}}, stop, stop); err != nil {
			t.Fatal(err)
		}
		w = s.do(t, request{target: "/api/v1/churn/scores", bearer: keys.read})
		scores := decode[[]churn.StoredScore](t, w)
		if w.Code != http.StatusOK || len(scores) != 2 || scores[0].AccountID != "a07" || scores[1].Probability != 0.2 || !scores[0].AsOf.Equal(stop) {
			t.Errorf("scores: %d %s", w.Code, w.Body)
		}

		// The account API carries the stored risk: probability, reasons,
		// as_of; null for an account the scoring left out.
		scoredAt := stop.Add(time.Hour)
		if _, err := churn.StoreScores(ctx, db, []churn.Risk{{AccountID: "a07", Probability: 0.6,
			Reasons: []churn.Reason{{Feature: "plan=basic", Value: 1, Contribution: 0.4}}}}, stop, scoredAt); err != nil {
			t.Fatal(err)
		}
		type risky struct {
			ID        string             `json:"account_id"`
			ChurnRisk *churn.CurrentRisk `json:"churn_risk"`
		}
		w = s.do(t, request{target: "/api/v1/accounts/a07", bearer: keys.read})
		one := decode[risky](t, w)
		if r := one.ChurnRisk; w.Code != http.StatusOK || r == nil || r.Probability != 0.6 || !r.AsOf.Equal(stop) || !r.ScoredAt.Equal(scoredAt) ||
			len(r.Reasons) != 1 || r.Reasons[0].Feature != "plan=basic" || r.Reasons[0].Contribution != 0.4 {
			t.Errorf("account a07: %d %s", w.Code, w.Body)
		}
		w = s.do(t, request{target: "/api/v1/accounts?limit=100", bearer: keys.read})
		list := decode[struct {
			Accounts []risky `json:"accounts"`
		}](t, w)
		got := map[string]*churn.CurrentRisk{}
		for _, a := range list.Accounts {
			got[a.ID] = a.ChurnRisk
		}
		if w.Code != http.StatusOK || len(got) != 20 || got["a07"] == nil || got["a07"].Probability != 0.6 || got["a13"] != nil {
			t.Errorf("accounts: %d %s", w.Code, w.Body)
		}
		if !strings.Contains(w.Body.String(), `"churn_risk":null`) {
			t.Errorf("accounts: an unscored account lacks \"churn_risk\": null: %s", w.Body)
		}
	})
}
