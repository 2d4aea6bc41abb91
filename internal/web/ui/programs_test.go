package ui_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestProgramPages: the list with the correlation view, a program's
// results worded as the package words them, in Japanese too, and adding
// participants from the page.
func TestProgramPages(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer := s.as(t, user.RoleViewer)

	t.Run("list", func(t *testing.T) {
		res := viewer.get("/programs")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /programs = %d", res.StatusCode)
		}
		for _, want := range []string{`href="/programs/reports-seminar"`, "Reports seminar", "Reports webinar",
			"Feature adoption against churn and satisfaction", "<td>reports</td>", "<td>dashboards</td>"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("/programs lacks %q", want)
			}
		}
	})

	t.Run("results", func(t *testing.T) {
		r, err := program.Compute(ctx, s.db, demo.SeminarProgram, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := viewer.get("/programs/" + demo.SeminarProgram)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET = %d", res.StatusCode)
		}
		for _, m := range r.Measures {
			if !strings.Contains(res.Body, escaped(m.Verdict.Text)) {
				t.Errorf("the page lacks the verdict %q", m.Verdict.Text)
			}
		}
		if !strings.Contains(res.Body, escaped(r.Control.Method)) || strings.Contains(res.Body, "Add participants") {
			t.Errorf("the control's method missing, or a viewer offered the add form")
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/programs/"+demo.SeminarProgram, nil)
		req.Header.Set("Accept-Language", "ja")
		ja := viewer.do(req)
		for _, want := range []string{"施策", "判定", "事前期間", "のアダプション", "日以内の解約"} {
			if !strings.Contains(ja.Body, want) {
				t.Errorf("the Japanese page lacks %q", want)
			}
		}
		if res := viewer.get("/programs/nope"); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, "There is no program nope.") {
			t.Errorf("unknown program: %d", res.StatusCode)
		}
	})

	t.Run("add participants", func(t *testing.T) {
		parts, err := program.Participants(ctx, s.db, demo.WebinarProgram)
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]bool{}
		for _, p := range parts {
			in[p.AccountID] = true
		}
		all, err := account.List(ctx, s.db, account.ListOptions{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var fresh string
		for _, a := range all {
			if !in[a.ID] {
				fresh = a.ID
				break
			}
		}
		page := "/programs/" + demo.WebinarProgram
		if res := viewer.post(page+"/participants", url.Values{"accounts": {fresh}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer's POST = %d, want 403", res.StatusCode)
		}
		csm := s.as(t, user.RoleCSM)
		res := csm.submit(page, page+"/participants", url.Values{"accounts": {fresh + ", ghost"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, html.EscapeString(`There is no account "ghost": nothing was added.`)) ||
			!strings.Contains(res.Body, html.EscapeString(fresh+", ghost")) {
			t.Errorf("unknown account: %d", res.StatusCode)
		}
		res = csm.submit(page, page+"/participants", url.Values{"accounts": {fresh + "\n" + parts[0].AccountID}})
		if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), url.QueryEscape("1 participants added.")) {
			t.Fatalf("add: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		after, err := program.Participants(ctx, s.db, demo.WebinarProgram)
		if err != nil || len(after) != len(parts)+1 {
			t.Errorf("participants %d → %d (%v)", len(parts), len(after), err)
		}
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE object_type = 'program' AND actor = 'user:csm@example.com'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit entries (%v), want 1", n, err)
		}
	})
}

// escaped is s as html/template writes it in text (it escapes + too).
func escaped(s string) string { return strings.ReplaceAll(html.EscapeString(s), "+", "&#43;") }
