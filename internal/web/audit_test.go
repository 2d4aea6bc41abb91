package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestAuditLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		k := newRoleKeys(t, db)
		if err := account.Upsert(context.Background(), db, account.Account{ID: "acc-1"}); err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/tickets/t-1"
		for _, req := range []request{
			{method: http.MethodPut, target: path, bearer: k.manager, body: `{"account_id":"acc-1","opened_at":"2024-01-01","status":"open"}`},
			{method: http.MethodPatch, target: path, bearer: k.admin, body: `{"status":"closed"}`},
			{method: http.MethodDelete, target: path, bearer: k.write},
		} {
			if w := s.do(t, req); w.Code >= 300 {
				t.Fatalf("%s = %d %s", req.method, w.Code, w.Body)
			}
		}

		q := url.Values{"object_type": {"ticket"}, "object_id": {"t-1"}, "order": {"oldest"}}
		w := s.do(t, request{target: "/api/v1/audit?" + q.Encode(), bearer: k.manager})
		if w.Code != http.StatusOK {
			t.Fatalf("audit = %d %s", w.Code, w.Body)
		}
		page := decode[auditPage](t, w)
		if len(page.Entries) != 3 {
			t.Fatalf("entries = %+v, want create, update, delete", page.Entries)
		}
		status := func(raw json.RawMessage) any {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("decode %s: %v", raw, err)
			}
			if m == nil {
				return nil
			}
			return m["status"]
		}
		for i, want := range []struct {
			action, actorPrefix string
			before, after       any
		}{
			{"create", "apikey:key_", nil, "open"},
			{"update", "apikey:key_", "open", "closed"},
			{"delete", "apikey:key_", "closed", nil},
		} {
			e := page.Entries[i]
			if e.Action != want.action || e.ObjectType != "ticket" || e.ObjectID != "t-1" || len(e.Actor) < len(want.actorPrefix) ||
				e.Actor[:len(want.actorPrefix)] != want.actorPrefix || e.At.IsZero() {
				t.Errorf("entry %d = %+v", i, e)
			}
			if got := status(e.Before); got != want.before {
				t.Errorf("entry %d (%s) before.status = %v, want %v", i, e.Action, got, want.before)
			}
			if got := status(e.After); got != want.after {
				t.Errorf("entry %d (%s) after.status = %v, want %v", i, e.Action, got, want.after)
			}
		}
		if page.Entries[0].Actor == page.Entries[1].Actor {
			t.Errorf("a manager's and an admin's keys are logged as the same actor %s", page.Entries[0].Actor)
		}

		// Newest first by default, paged by cursor.
		w = s.do(t, request{target: "/api/v1/audit?object_type=ticket&limit=2", bearer: k.admin})
		first := decode[auditPage](t, w)
		if len(first.Entries) != 2 || first.Entries[0].Action != "delete" || first.NextCursor == "" {
			t.Fatalf("first page = %+v", first)
		}
		w = s.do(t, request{target: "/api/v1/audit?object_type=ticket&limit=2&after=" + first.NextCursor, bearer: k.admin})
		if second := decode[auditPage](t, w); len(second.Entries) != 1 || second.Entries[0].Action != "create" || second.NextCursor != "" {
			t.Fatalf("second page = %+v", second)
		}
		checkProblem(t, s.do(t, request{target: "/api/v1/audit?after=nonsense", bearer: k.admin}), http.StatusBadRequest)
	})
}
