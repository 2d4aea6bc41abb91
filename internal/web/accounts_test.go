package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// seedAccounts stores five accounts. acc-3 pays 49.90 USD and 5000 JPY a
// month now (JPY at 0.0067 USD), after an older period that has ended;
// acc-4 pays in EUR, which has no exchange rate.
func seedAccounts(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	signup := date("2024-01-15")
	for _, a := range []account.Account{
		{ID: "acc-1", Name: "Alpha", OwnerEmail: "alice@example.com"},
		{ID: "acc-2", Name: "Beta", OwnerEmail: "bob@example.com"},
		{ID: "acc-3", Name: "Gamma KK", OwnerEmail: "alice@example.com", SignupAt: &signup,
			Attributes: map[string]any{"seats": 25, "tier": "gold", "vip": true}},
		{ID: "acc-4", Name: "Delta GmbH", ParentID: "acc-3"},
		{ID: "acc-5", Name: "Epsilon"},
	} {
		if err := account.Upsert(ctx, db, a); err != nil {
			t.Fatal(err)
		}
	}
	ended := date("2024-02-01")
	for _, p := range []billing.Period{
		{SubscriptionID: "s-old", AccountID: "acc-3", Start: date("2023-01-01"), End: &ended, MRRMinor: 100000, Currency: "USD"},
		{SubscriptionID: "s-usd", AccountID: "acc-3", Start: date("2024-02-01"), MRRMinor: 4990, Currency: "USD"},
		{SubscriptionID: "s-jpy", AccountID: "acc-3", Start: date("2024-02-01"), MRRMinor: 5000, Currency: "JPY"},
		{SubscriptionID: "s-future", AccountID: "acc-3", Start: time.Now().AddDate(1, 0, 0), MRRMinor: 777700, Currency: "USD"},
		{SubscriptionID: "s-eur", AccountID: "acc-4", Start: date("2024-02-01"), MRRMinor: 1000, Currency: "EUR"},
	} {
		if err := billing.UpsertPeriod(ctx, db, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := billing.SetFXRate(ctx, db, "JPY", date("2020-01-01"), 0.0067); err != nil {
		t.Fatal(err)
	}
}

func ids(accounts []accountJSON) []string {
	var out []string
	for _, a := range accounts {
		out = append(out, a.ID)
	}
	return out
}

func TestListAccountsPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		seedAccounts(t, db)
		for _, tt := range []struct {
			name  string
			query url.Values
			pages [][]string
		}{
			{"default limit", nil, [][]string{{"acc-1", "acc-2", "acc-3", "acc-4", "acc-5"}}},
			{"limit 2", url.Values{"limit": {"2"}}, [][]string{{"acc-1", "acc-2"}, {"acc-3", "acc-4"}, {"acc-5"}}},
			// A last page that is exactly full has no cursor to an empty page.
			{"limit 5", url.Values{"limit": {"5"}}, [][]string{{"acc-1", "acc-2", "acc-3", "acc-4", "acc-5"}}},
			{"limit 1000", url.Values{"limit": {"1000"}}, [][]string{{"acc-1", "acc-2", "acc-3", "acc-4", "acc-5"}}},
			{"owner", url.Values{"owner": {"alice@example.com"}}, [][]string{{"acc-1", "acc-3"}}},
			{"owner paged", url.Values{"owner": {"alice@example.com"}, "limit": {"1"}}, [][]string{{"acc-1"}, {"acc-3"}}},
			{"unknown owner", url.Values{"owner": {"nobody@example.com"}}, [][]string{{}}},
			{"after", url.Values{"after": {"acc-4"}}, [][]string{{"acc-5"}}},
			{"after the end", url.Values{"after": {"zzz"}}, [][]string{{}}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				q := url.Values{}
				for k, v := range tt.query {
					q[k] = v
				}
				seen := map[string]bool{}
				for i, want := range tt.pages {
					w := s.do(t, request{target: "/api/v1/accounts?" + q.Encode(), auth: true})
					if w.Code != http.StatusOK {
						t.Fatalf("page %d: status %d; body %s", i+1, w.Code, w.Body)
					}
					if ct := w.Header().Get("Content-Type"); ct != "application/json" {
						t.Errorf("Content-Type = %q", ct)
					}
					page := decode[accountPage](t, w)
					if page.Accounts == nil {
						t.Fatalf("page %d: accounts is null, want an array; body %s", i+1, w.Body)
					}
					if got := ids(page.Accounts); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
						t.Fatalf("page %d = %v, want %v", i+1, got, want)
					}
					for _, id := range ids(page.Accounts) {
						if seen[id] {
							t.Fatalf("page %d repeats %s", i+1, id)
						}
						seen[id] = true
					}
					last := i == len(tt.pages)-1
					switch {
					case last && page.NextCursor != "":
						t.Fatalf("last page has next_cursor %q", page.NextCursor)
					case !last && page.NextCursor != want[len(want)-1]:
						t.Fatalf("page %d next_cursor = %q, want %q", i+1, page.NextCursor, want[len(want)-1])
					}
					q.Set("after", page.NextCursor)
				}
			})
		}
	})
}

func TestAccountMRRAndAttributes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		seedAccounts(t, db)

		w := s.do(t, request{target: "/api/v1/accounts/acc-3", auth: true})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d; body %s", w.Code, w.Body)
		}
		// Every documented key is present, even when null.
		raw := decode[map[string]any](t, w)
		for _, k := range []string{"account_id", "name", "signup_at", "owner_email", "parent_account_id", "attributes", "mrr", "currency"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("account has no %q key: %s", k, w.Body)
			}
		}
		a := decode[accountJSON](t, w)
		// 49.90 USD + 5000 JPY × 0.0067 = 49.90 + 33.50; the ended and the future periods do not count.
		if a.MRR == nil || *a.MRR != 83.40 || a.Currency != "USD" {
			t.Errorf("mrr = %v %s, want 83.40 USD", deref(a.MRR), a.Currency)
		}
		if a.Name != "Gamma KK" || a.SignupAt == nil || !a.SignupAt.Equal(date("2024-01-15")) ||
			a.OwnerEmail == nil || *a.OwnerEmail != "alice@example.com" || a.ParentID != nil {
			t.Errorf("account = %+v", a)
		}
		if a.Attributes["seats"] != 25.0 || a.Attributes["tier"] != "gold" || a.Attributes["vip"] != true {
			t.Errorf("attributes = %v, want seats 25, tier gold, vip true", a.Attributes)
		}

		// The list computes MRR in one query per page; it must agree.
		page := decode[accountPage](t, s.do(t, request{target: "/api/v1/accounts", auth: true}))
		want := map[string]*float64{"acc-1": ptr(0.0), "acc-2": ptr(0.0), "acc-3": ptr(83.40), "acc-4": nil, "acc-5": ptr(0.0)}
		for _, a := range page.Accounts {
			if w := want[a.ID]; (w == nil) != (a.MRR == nil) || w != nil && *w != *a.MRR {
				t.Errorf("list: %s mrr = %v, want %v (null when a currency has no rate)", a.ID, deref(a.MRR), deref(w))
			}
			if a.Currency != "USD" || a.Attributes == nil {
				t.Errorf("list: %s currency %q attributes %v", a.ID, a.Currency, a.Attributes)
			}
			if a.ID == "acc-3" && a.Attributes["tier"] != "gold" {
				t.Errorf("list: acc-3 attributes = %v", a.Attributes)
			}
			if a.ID == "acc-4" && (a.ParentID == nil || *a.ParentID != "acc-3") {
				t.Errorf("list: acc-4 parent = %v", a.ParentID)
			}
		}

		// An account whose currency has no rate still shows, with a null MRR.
		if a := decode[accountJSON](t, s.do(t, request{target: "/api/v1/accounts/acc-4", auth: true})); a.MRR != nil {
			t.Errorf("acc-4 mrr = %v, want null", *a.MRR)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestAccountsErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		seedAccounts(t, db)
		for _, tt := range []struct {
			name     string
			req      request
			status   int
			location string // of the bad parameter
		}{
			{"unknown account", request{target: "/api/v1/accounts/nope", auth: true}, http.StatusNotFound, ""},
			{"account id not UTF-8", request{target: "/api/v1/accounts/%FF", auth: true}, http.StatusNotFound, ""},
			{"unknown endpoint", request{target: "/api/v1/nothing", auth: true}, http.StatusNotFound, ""},
			{"limit 0", request{target: "/api/v1/accounts?limit=0", auth: true}, http.StatusBadRequest, "query.limit"},
			{"limit too big", request{target: "/api/v1/accounts?limit=1001", auth: true}, http.StatusBadRequest, "query.limit"},
			{"limit negative", request{target: "/api/v1/accounts?limit=-1", auth: true}, http.StatusBadRequest, "query.limit"},
			{"limit not a number", request{target: "/api/v1/accounts?limit=ten", auth: true}, http.StatusBadRequest, "query.limit"},
			{"limit fraction", request{target: "/api/v1/accounts?limit=1.5", auth: true}, http.StatusBadRequest, "query.limit"},
			{"after not UTF-8", request{target: "/api/v1/accounts?after=%FF", auth: true}, http.StatusBadRequest, "query.after"},
			{"after with NUL", request{target: "/api/v1/accounts?after=a%00", auth: true}, http.StatusBadRequest, "query.after"},
			{"owner not UTF-8", request{target: "/api/v1/accounts?owner=%C3", auth: true}, http.StatusBadRequest, "query.owner"},
			{"POST list", request{method: http.MethodPost, target: "/api/v1/accounts", auth: true}, http.StatusMethodNotAllowed, ""},
			{"PUT list", request{method: http.MethodPut, target: "/api/v1/accounts", auth: true}, http.StatusMethodNotAllowed, ""},
			// The test user is a viewer: the account stays.
			{"DELETE account as viewer", request{method: http.MethodDelete, target: "/api/v1/accounts/acc-1", auth: true}, http.StatusForbidden, ""},
			{"POST without credentials", request{method: http.MethodPost, target: "/api/v1/accounts"}, http.StatusMethodNotAllowed, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := s.do(t, tt.req)
				p := checkProblem(t, w, tt.status)
				if tt.location != "" && (len(p.Errors) != 1 || p.Errors[0].Location != tt.location) {
					t.Errorf("errors = %+v, want one at %s", p.Errors, tt.location)
				}
				if tt.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") != "GET, HEAD" {
					t.Errorf("Allow = %q, want GET, HEAD", w.Header().Get("Allow"))
				}
			})
		}

		// HEAD answers like GET without a body.
		w := s.do(t, request{method: http.MethodHead, target: "/api/v1/accounts/acc-1", auth: true})
		if w.Code != http.StatusOK {
			t.Errorf("HEAD = %d, want 200", w.Code)
		}
	})
}
