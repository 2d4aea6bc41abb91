package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSnapshotsAndRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newTestServer(t, db)
		keys := newRoleKeys(t, db)
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Attributes: map[string]any{"segment": map[string]string{"a": "smb", "b": "smb", "c": "enterprise"}[id]}}); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now().AddDate(0, -2, 0)
		if err := billing.UpsertPeriod(ctx, db, billing.Period{SubscriptionID: "s", AccountID: "a", Start: start, MRRMinor: 12345, Currency: "USD", Plan: "pro"}); err != nil {
			t.Fatal(err)
		}

		w := s.do(t, request{target: "/api/v1/accounts/a/snapshot", bearer: keys.read})
		snap := decode[snapshot.Snapshot](t, w)
		if w.Code != http.StatusOK || snap.MRR != 123.45 || snap.Plan != "pro" || snap.Attributes["segment"] != "smb" || !snap.Customer {
			t.Errorf("snapshot: %d %s", w.Code, w.Body)
		}
		w = s.do(t, request{target: "/api/v1/accounts/a/snapshot?at=2000-01-01", bearer: keys.read})
		if snap := decode[snapshot.Snapshot](t, w); snap.MRR != 0 || snap.At.Year() != 2000 {
			t.Errorf("snapshot in 2000: %s", w.Body)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/accounts/nope/snapshot", bearer: keys.read}), http.StatusNotFound)
		checkProblem(t, s.do(t, request{target: "/api/v1/accounts/a/snapshot?at=later", bearer: keys.read}), http.StatusBadRequest)

		fields := decode[[]snapshot.Field](t, s.do(t, request{target: "/api/v1/snapshot/fields", bearer: keys.read}))
		if len(fields) != len(snapshot.Fields) || fields[0].Name != "account_id" {
			t.Errorf("fields: %+v", fields)
		}

		check := func(body string) ruleCheckResult {
			t.Helper()
			w := s.do(t, request{method: http.MethodPost, target: "/api/v1/rules/check", bearer: keys.read, body: body})
			if w.Code != http.StatusOK {
				t.Fatalf("check %s: %d %s", body, w.Code, w.Body)
			}
			return decode[ruleCheckResult](t, w)
		}
		res := check(`{"rule": "attr[\"segment\"] == \"smb\" && mrr < 100", "evaluate": true}`)
		if !res.Valid || res.Accounts != 3 || res.Matches != 1 || len(res.Sample) != 1 || res.Sample[0] != "b" {
			t.Errorf("evaluate: %+v", res)
		}
		res = check(`{"rule": "mrr > 10 &&\n acitve_users_7d > 1"}`)
		if res.Valid || len(res.Errors) != 1 || res.Errors[0].Line != 2 || res.Errors[0].Column != 2 ||
			res.Errors[0].Message != "unknown name acitve_users_7d (did you mean active_users_7d?)" {
			t.Errorf("typo: %+v", res.Errors)
		}
		if res := check(`{"rule": "mrr * 0.1", "kind": "number"}`); !res.Valid {
			t.Errorf("number rule: %+v", res)
		}
		p := checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/rules/check", bearer: keys.read, body: `{"rule": "true", "kind": "colour"}`}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.kind" {
			t.Errorf("bad kind: %+v", p.Errors)
		}
		checkProblem(t, s.do(t, request{method: http.MethodPost, target: "/api/v1/rules/check", bearer: keys.ingest, body: `{"rule": "true"}`}), http.StatusForbidden)
	})
}
