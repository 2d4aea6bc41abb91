package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/metrics"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSaaSMetricsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		for _, id := range []string{"a", "b"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		feb := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
		for _, p := range []billing.Period{
			{SubscriptionID: "s1", AccountID: "a", Start: jan, End: &feb, MRRMinor: 10000, Currency: "USD", Plan: "pro"},
			{SubscriptionID: "s2", AccountID: "b", Start: jan, MRRMinor: 5000, Currency: "USD", Plan: "basic"},
		} {
			if err := billing.UpsertPeriod(ctx, db, p); err != nil {
				t.Fatal(err)
			}
		}

		w := s.do(t, request{target: "/api/v1/metrics/monthly?from=2024-01&to=2024-02", bearer: keys.read})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		// Exactly CONTRACT.md's keys, in month order.
		var raw []map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil || len(raw) != 2 {
			t.Fatalf("body %s: %v", w.Body, err)
		}
		var got []string
		for k := range raw[0] {
			got = append(got, k)
		}
		want := slices.Clone(metrics.Keys)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("keys %v\nwant %v", got, want)
		}
		if raw[0]["month"] != "2024-01" || raw[0]["mrr"] != 150.0 || raw[1]["churned_mrr"] != 100.0 || raw[1]["logo_churn_rate"] != 0.5 ||
			raw[0]["logo_churn_rate"] != nil {
			t.Errorf("rows %v", raw)
		}

		w = s.do(t, request{target: "/api/v1/metrics/monthly?from=2024-01&to=2024-02&by=plan", bearer: keys.read})
		rows := decode[[]metrics.Row](t, w)
		if len(rows) != 4 || *rows[0].Group != "basic" || rows[0].MRR != 50 || *rows[2].Group != "pro" || rows[3].ChurnedMRR != 100 {
			t.Errorf("by plan: %s", w.Body)
		}

		w = s.do(t, request{target: "/api/v1/metrics/monthly?from=2024-02&to=2024-02&extended=true", bearer: keys.read})
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil || len(raw) != 1 || raw[0]["revenue_churn_rate"] != 100.0/150 ||
			raw[0]["gross_profit_mrr"] != 50.0 || len(raw[0]) != len(metrics.Keys)+len(metrics.ExtendedKeys) {
			t.Errorf("extended: %s", w.Body)
		}

		// As of before anything was recorded: nothing.
		w = s.do(t, request{target: "/api/v1/metrics/monthly?from=2024-01&to=2024-01&as_of=2020-01-01", bearer: keys.read})
		if rows := decode[[]metrics.Row](t, w); len(rows) != 1 || rows[0].MRR != 0 {
			t.Errorf("as of 2020: %s", w.Body)
		}

		w = s.do(t, request{target: "/api/v1/metrics/cohorts?from=2024-01&to=2024-02", bearer: keys.viewer})
		cohorts := decode[[]metrics.Cohort](t, w)
		if len(cohorts) != 1 || cohorts[0].Customers != 2 || len(cohorts[0].Offsets) != 2 || cohorts[0].Offsets[1].LogoRetention != 0.5 ||
			cohorts[0].Offsets[1].RevenueRetention != 50.0/150 {
			t.Errorf("cohorts: %s", w.Body)
		}

		w = s.do(t, request{target: "/api/v1/metrics/renewals?days=3660&at=2024-01-15", bearer: keys.read})
		if ren := decode[[]metrics.Renewal](t, w); len(ren) != 1 || ren[0].SubscriptionID != "s1" || *ren[0].ARR != 1200 || ren[0].DaysLeft != 17 {
			t.Errorf("renewals: %s", w.Body)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO survey_responses (response_id, account_id, survey, kind, score, answered_at, recorded_at, updated_at)
			VALUES ('r1', 'a', 'q', 'nps', 10, $1, 1, 1)`, jan.Unix()); err != nil {
			t.Fatal(err)
		}
		w = s.do(t, request{target: "/api/v1/metrics/surveys?from=2024-01&to=2024-02", bearer: keys.read})
		if sv := decode[[]metrics.SurveyRow](t, w); len(sv) != 2 || sv[0].NPS == nil || *sv[0].NPS != 100 || sv[1].NPS != nil {
			t.Errorf("surveys: %s", w.Body)
		}

		for _, c := range []struct{ target, location string }{
			{"/api/v1/metrics/monthly?from=2024-13&to=2024-02", "query.from"},
			{"/api/v1/metrics/monthly?from=2024-01", "query.to"},
			{"/api/v1/metrics/monthly?from=2024-03&to=2024-02", "query.to"},
			{"/api/v1/metrics/monthly?from=2024-01&to=2024-02&as_of=yesterday", "query.as_of"},
			{"/api/v1/metrics/monthly?from=2024-01&to=2024-02&interval=year", "query.interval"},
			{"/api/v1/metrics/cohorts?from=2024&to=2024-02", "query.from"},
			{"/api/v1/metrics/surveys?from=2024-01&to=2024-02&as_of=x", "query.as_of"},
			{"/api/v1/metrics/renewals?days=0", "query.days"},
			{"/api/v1/metrics/renewals?at=tomorrow", "query.at"},
		} {
			p := checkProblem(t, s.do(t, request{target: c.target, bearer: keys.read}), http.StatusBadRequest)
			if len(p.Errors) == 0 || p.Errors[0].Location != c.location {
				t.Errorf("%s: errors %+v, want one at %s", c.target, p.Errors, c.location)
			}
		}
		p := checkProblem(t, s.do(t, request{target: "/api/v1/metrics/monthly?from=2024-01&to=2024-02&by=colour", bearer: keys.read}), http.StatusBadRequest)
		if p.Detail == "" {
			t.Error("no detail for an unknown breakdown")
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/metrics/monthly?from=2024-01&to=2024-02"}), http.StatusUnauthorized)
		checkProblem(t, s.do(t, request{target: "/api/v1/metrics/monthly?from=2024-01&to=2024-02", bearer: keys.ingest}), http.StatusForbidden)
	})
}
