package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestMetrics(t *testing.T) {
	s := newTestServer(t, storetest.SQLite(t))
	k := newRoleKeys(t, s.db)
	s.do(t, request{target: "/api/v1/accounts/acc-1", bearer: k.read})
	s.do(t, request{target: "/api/v1/accounts/acc-2", bearer: k.read})

	checkProblem(t, s.do(t, request{target: "/metrics"}), http.StatusUnauthorized)
	checkProblem(t, s.do(t, request{target: "/metrics", bearer: k.ingest}), http.StatusForbidden)
	w := s.do(t, request{target: "/metrics", bearer: k.read})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{
		// Two requests to one route, counted under its pattern, not its paths.
		`kizuna_http_requests_total{method="GET",route="GET /api/v1/accounts/{account_id}",status="404"} 2`,
		`kizuna_http_request_duration_seconds_bucket{method="GET",route="GET /api/v1/accounts/{account_id}",le="+Inf"} 2`,
		`kizuna_http_requests_total{method="GET",route="GET /metrics",status="401"} 1`,
		"kizuna_ingest_queue_depth 0",
		"kizuna_ingest_round_calls_count 0", // nothing ingested yet
		"go_goroutines",
		`go_sql_max_open_connections{db_name="kizuna"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, "acc-1") {
		t.Error("metrics are labelled with a raw path")
	}

	// Public when the operator says so.
	s.opts.MetricsPublic = true
	if w := s.do(t, request{target: "/metrics"}); w.Code != http.StatusOK {
		t.Errorf("public /metrics = %d", w.Code)
	}
}
