package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/goal"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestGoalPages: the tree of the demo's goals, a goal's page with its
// chart and children, the dashboard's panel, and the forms: a viewer is
// refused, bad fields come back with their messages (422), a good goal is
// saved and audited, a parent cannot be deleted.
func TestGoalPages(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer, manager := s.as(t, user.RoleViewer), s.as(t, user.RoleManager)

	t.Run("list", func(t *testing.T) {
		res := viewer.get("/goals")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /goals = %d", res.StatusCode)
		}
		for _, want := range []string{`href="/goals/` + demo.NRRGoal + `"`, "Net revenue retention 100%", `class="goals-depth-1"`,
			"Enterprise NRR 105%", "NRR (12 months)", "Logo churn rate", "≤ 2.5%", `<progress class="goals-meter"`, `href="/goals"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("/goals lacks %q", want)
			}
		}
		if strings.Contains(res.Body, `href="/goals/new"`) {
			t.Error("a viewer is offered a new goal")
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/goals", nil)
		req.Header.Set("Accept-Language", "ja")
		if ja := viewer.do(req); !strings.Contains(ja.Body, "<h1>目標</h1>") || !strings.Contains(ja.Body, "期限") {
			t.Errorf("the Japanese list lacks its heading or columns")
		}
	})

	t.Run("goal page", func(t *testing.T) {
		res := viewer.get("/goals/" + demo.NRRGoal)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET = %d", res.StatusCode)
		}
		for _, want := range []string{"<svg", `class="line1 goals-trend"`, `class="line0 goals-target"`,
			"NRR (12 months) at each month-end, its trend to the deadline and the target", "Child goals",
			`href="/goals/nrr-enterprise"`, "SMB NRR 85%"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("the goal page lacks %q", want)
			}
		}
		if strings.Contains(res.Body, "Edit goal") {
			t.Error("a viewer is offered the edit form")
		}
		if child := viewer.get("/goals/nrr-enterprise"); !strings.Contains(child.Body, "Computed over: enterprise") ||
			!strings.Contains(child.Body, `href="/goals/`+demo.NRRGoal+`"`) {
			t.Error("a tier goal's page lacks its scope or its parent")
		}
		if res := viewer.get("/goals/nope"); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, "There is no goal nope.") {
			t.Errorf("unknown goal: %d", res.StatusCode)
		}
	})

	t.Run("dashboard panel", func(t *testing.T) {
		res := viewer.get("/")
		if !strings.Contains(res.Body, `id="goals"`) || !strings.Contains(res.Body, "Net revenue retention 100%") ||
			strings.Contains(res.Body, "Enterprise NRR 105%") {
			t.Errorf("the dashboard's goals panel should list the top-level goals only")
		}
	})

	form := func(id, target, deadline string) url.Values {
		return url.Values{"goal_id": {id}, "name": {"Quick ratio 4"}, "metric": {"quick_ratio"}, "target": {target},
			"start_date": {"2026-10-01"}, "deadline": {deadline}, "owner_email": {"csm@example.com"}, "parent_id": {demo.NRRGoal}}
	}
	t.Run("refusals", func(t *testing.T) {
		if res := viewer.submit("/goals", "/goals", form("qr", "4", "2027-03-31")); res.StatusCode != http.StatusForbidden {
			t.Errorf("a viewer's POST = %d", res.StatusCode)
		}
		res := manager.submit("/goals/new", "/goals", form("qr", "lots", "2026-09-30"))
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad form = %d", res.StatusCode)
		}
		for _, want := range []string{"The goal was not saved", "Enter a number, such as 120000, 1.1 or 2%.", `value="lots"`} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("the refused form lacks %q", want)
			}
		}
		res = manager.submit("/goals/new", "/goals", form("qr", "4", "2026-09-30"))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "The deadline is before the start date.") {
			t.Errorf("deadline before start: %d", res.StatusCode)
		}
		res = manager.submit("/goals/new", "/goals", form("qr", "4", "2030-12-31"))
		if res.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(res.Body, "The parent goal is due before this one: a child goal is due no later than its parent.") {
			t.Errorf("after the parent's deadline: %d", res.StatusCode)
		}
		if _, err := goal.Get(ctx, s.db, "qr"); err == nil {
			t.Error("a refused goal was stored")
		}
	})

	t.Run("create, edit, delete", func(t *testing.T) {
		res := manager.submit("/goals/new", "/goals", form("qr", "4", "2027-03-31"))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/goals/qr?notice=Goal+Quick+ratio+4+saved." {
			t.Fatalf("create = %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		g, err := goal.Get(ctx, s.db, "qr")
		if err != nil || g.Target != 4 || g.Direction != goal.AtLeast || g.ParentID != demo.NRRGoal || g.CreatedBy != "manager@example.com" {
			t.Fatalf("stored %+v %v", g, err)
		}
		if page := manager.get("/goals/qr"); !strings.Contains(page.Body, "Edit goal") || !strings.Contains(page.Body, `href="/goals/`+demo.NRRGoal+`"`) {
			t.Error("the goal's page lacks its edit form or its parent")
		}
		edit := form("", "5%", "2027-03-31")
		edit.Set("metric", "upsell_rate")
		if res := manager.submit("/goals/qr", "/goals/qr", edit); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("edit = %d", res.StatusCode)
		}
		if g, _ := goal.Get(ctx, s.db, "qr"); g.Target != 0.05 || g.Metric != "upsell_rate" {
			t.Errorf("edited %+v", g)
		}
		if page := manager.get("/goals/qr"); !strings.Contains(page.Body, `name="target" value="5%"`) {
			t.Error("the edit form does not show the rate's target as a percentage")
		}
		if res := manager.submit("/goals/"+demo.NRRGoal, "/goals/"+demo.NRRGoal+"/delete", nil); res.StatusCode != http.StatusConflict ||
			!strings.Contains(res.Body, "has child goals") {
			t.Errorf("delete a parent = %d", res.StatusCode)
		}
		if res := manager.submit("/goals/qr", "/goals/qr/delete", nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("delete = %d", res.StatusCode)
		}
		entries, err := audit.List(ctx, s.db, audit.Filter{ObjectType: "goal", ObjectID: "qr"})
		if err != nil || len(entries) != 3 {
			t.Fatalf("audit %+v %v", entries, err)
		}
		for _, e := range entries {
			if e.Actor != "user:manager@example.com" {
				t.Errorf("audit actor %s", e.Actor)
			}
		}
	})
}
