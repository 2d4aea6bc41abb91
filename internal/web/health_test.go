package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestProbes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newTestServer(t, db)
		for _, tt := range []struct {
			name string
			req  request
		}{
			{"healthz", request{target: "/healthz"}},
			{"readyz", request{target: "/readyz"}},
			{"healthz HEAD", request{method: http.MethodHead, target: "/healthz"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				w := s.do(t, tt.req)
				if w.Code != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
				}
				if tt.req.method != http.MethodHead && w.Body.String() != "ok\n" {
					t.Errorf("body = %q, want ok", w.Body)
				}
			})
		}

		// A schema this binary does not know (a newer kizuna migrated it) is not ready either.
		next := store.LatestVersion() + 1
		if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, next); err != nil {
			t.Fatal(err)
		}
		if p := checkProblem(t, s.do(t, request{target: "/readyz"}), http.StatusServiceUnavailable); !strings.Contains(p.Detail, "schema") {
			t.Errorf("readyz detail = %q, want the schema version", p.Detail)
		}
		if _, err := db.Exec(`DELETE FROM goose_db_version WHERE version_id = $1`, next); err != nil {
			t.Fatal(err)
		}
		if w := s.do(t, request{target: "/readyz"}); w.Code != http.StatusOK {
			t.Fatalf("readyz after the schema is current again = %d", w.Code)
		}

		// Once the database is gone, the process is alive but not ready.
		db.Close()
		if w := s.do(t, request{target: "/healthz"}); w.Code != http.StatusOK {
			t.Errorf("healthz with the database closed = %d, want 200", w.Code)
		}
		p := checkProblem(t, s.do(t, request{target: "/readyz"}), http.StatusServiceUnavailable)
		if !strings.Contains(p.Detail, "database") {
			t.Errorf("readyz detail = %q, want the reason", p.Detail)
		}
	})
}
