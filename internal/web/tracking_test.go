package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

// TestSegmentThroughServer sends a batch through the whole server (routing,
// cross-origin protection, the ingest queue) and finds the events stored.
func TestSegmentThroughServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ts := newTestServer(t, db)
		t.Cleanup(func() { ts.Server.Close(ctx) })
		if err := account.Upsert(ctx, db, account.Account{ID: "acme", Name: "Acme"}); err != nil {
			t.Fatal(err)
		}
		_, ingestKey, err := apikey.Create(ctx, db, "segment", apikey.ScopeIngest, "")
		if err != nil {
			t.Fatal(err)
		}
		_, readKey, err := apikey.Create(ctx, db, "bi", apikey.ScopeRead, "")
		if err != nil {
			t.Fatal(err)
		}
		body := `{"batch":[
			{"type":"track","messageId":"m1","userId":"u1","event":"reports","context":{"groupId":"acme"},"timestamp":"2026-01-02T10:00:00Z"},
			{"type":"track","messageId":"m2","userId":"u2","event":"login","properties":{"account_id":"acme"},"timestamp":"2026-01-02T11:00:00Z"}]}`
		for _, tc := range []struct {
			key  string
			want int
		}{{"", http.StatusUnauthorized}, {readKey, http.StatusForbidden}, {ingestKey, http.StatusOK}, {ingestKey, http.StatusOK}} {
			// The write key is the Basic user name, with an empty password.
			w := ts.do(t, request{method: http.MethodPost, target: "/v1/batch", body: body, user: tc.key})
			if w.Code != tc.want {
				t.Fatalf("key %q: %d %s, want %d", tc.key[:min(len(tc.key), 6)], w.Code, w.Body, tc.want)
			}
			if tc.want == http.StatusOK && !strings.Contains(strings.ReplaceAll(w.Body.String(), " ", ""), `"success":true`) {
				t.Fatalf("body %s", w.Body)
			}
		}
		// Sent twice, stored once, and rolled up (Close applies the journal).
		if n, err := usage.CountEvents(ctx, db); err != nil || n != 2 {
			t.Fatalf("events = %d, %v; want 2", n, err)
		}
		if err := ts.Server.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := usage.ActiveUsers(ctx, db, "acme", 0, 100000); err != nil || n != 2 {
			t.Fatalf("active users = %d, %v; want 2", n, err)
		}
	})
}
