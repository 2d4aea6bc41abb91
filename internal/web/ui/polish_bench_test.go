package ui_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// BenchmarkSegmentsPage is the server time of GET /segments: stored, the
// memberships with their ARR, the tiers and the CSM workload (on the
// scale-1 demo, KIZUNA_BENCH_DB with 5,300 accounts, well under 100 ms);
// live, also every rule on every account's snapshot now.
func BenchmarkSegmentsPage(b *testing.B) {
	h, cookie, _ := benchSite(b)
	b.Run("stored", func(b *testing.B) { benchPages(b, h, cookie, []string{"/segments"}) })
	b.Run("live", func(b *testing.B) { benchPages(b, h, cookie, []string{"/segments?live=1"}) })
}

// BenchmarkHealthPreview is the server time of the health model editor's
// preview: the default model, as stored, scored over every account's
// current snapshot. On the scale-1 demo it should answer within a second.
func BenchmarkHealthPreview(b *testing.B) {
	h, cookie, db := benchSiteAs(b, user.RoleManager)
	ms, err := health.Models(context.Background(), db)
	if err != nil || len(ms) == 0 {
		b.Fatalf("the health models: %d, %v", len(ms), err)
	}
	m := ms[len(ms)-1] // the default, which scores the most accounts
	id := m.ID
	form := modelForm(m)
	// The CSRF token the editor puts in its form.
	req := httptest.NewRequest(http.MethodGet, "/health/"+id, nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	tok := csrfRe.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || tok == nil {
		b.Fatalf("GET /health/%s = %d, without a CSRF field", id, rec.Code)
	}
	form.Set("csrf", tok[1])
	post := func() time.Duration {
		req := httptest.NewRequest(http.MethodPost, "/health/"+id+"/preview", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Origin", "http://example.com")
		req.Host = "example.com"
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Preview (not saved)") {
			b.Fatalf("POST preview = %d: %.300s", rec.Code, rec.Body.String())
		}
		return d
	}
	var times []time.Duration
	for b.Loop() {
		times = append(times, post())
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "p95-ms")
}
