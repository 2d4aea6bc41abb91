package ui_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/lifecycle"
	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/prospect"
	"github.com/kizuna-cs/kizuna/internal/recompute"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/successplan"
)

// audited counts the audit entries of an object.
func audited(t *testing.T, s *site, objectType, objectID string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE object_type = $1 AND object_id = $2`, objectType, objectID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ruleTypo is a rule with a typo and the message, with its position, the
// page must show for it.
func ruleTypo(t *testing.T) (string, string) {
	t.Helper()
	src := `tenure_days >= 30 && setup_dne`
	_, err := rule.Compile(src, rule.Bool)
	re, ok := err.(*rule.Error)
	if !ok {
		t.Fatalf("rule.Compile(%q) = %v, want a *rule.Error", src, err)
	}
	return src, html.EscapeString(fmt.Sprintf("Line %d, column %d: %s", re.Line, re.Column, re.Message))
}

func TestJourneyMap(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer, manager := s.as(t, "viewer"), s.as(t, "manager")

	t.Run("stage counts are the lifecycle summary's", func(t *testing.T) {
		sum, err := lifecycle.Summarize(ctx, s.db, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := viewer.get("/journey")
		want(t, "GET /journey", res, http.StatusOK)
		total := 0
		for _, c := range sum.Stages {
			want(t, "stage "+c.StageID, res, http.StatusOK, fmt.Sprintf(`data-stage="%s">%d accounts<`, c.StageID, c.Accounts), html.EscapeString(c.Name))
			total += c.Accounts
		}
		if total == 0 {
			t.Error("no account is in any stage: the demo fixture is not recomputed")
		}
		if strings.Contains(res.Body, `action="/journey/`) {
			t.Error("a viewer is shown the edit forms")
		}
	})

	stages, err := lifecycle.List(ctx, s.db)
	if err != nil || len(stages) == 0 {
		t.Fatalf("stages: %v %v", stages, err)
	}
	st := stages[0]
	form := func(rl, goal string) url.Values {
		return url.Values{"name": {st.Name}, "description": {st.Description}, "rule": {rl}, "priority": {fmt.Sprint(st.Priority)}, "position": {"1"},
			"goal": {goal}, "touch_high": {"Weekly call"}}
	}

	t.Run("edits are role- and CSRF-checked", func(t *testing.T) {
		res := viewer.submit("/journey", "/journey/"+st.ID, form(st.Rule, "x"))
		want(t, "viewer POST", res, http.StatusForbidden)
		res = s.as(t, "csm").submit("/journey", "/journey/"+st.ID, form(st.Rule, "x"))
		want(t, "csm POST", res, http.StatusForbidden)
		f := form(st.Rule, "x")
		f.Set("csrf", "0123")
		want(t, "POST with a wrong CSRF token", manager.post("/journey/"+st.ID, f), http.StatusForbidden)
		if n := audited(t, s, "journey_step", st.ID); n != 0 {
			t.Errorf("%d audit entries after refused posts", n)
		}
	})

	t.Run("a rule typo shows its position", func(t *testing.T) {
		src, msg := ruleTypo(t)
		res := manager.submit("/journey", "/journey/"+st.ID, form(src, "Kept goal"))
		want(t, "POST a typo", res, http.StatusUnprocessableEntity, msg, "Kept goal", html.EscapeString(src))
		got, err := lifecycle.Get(ctx, s.db, st.ID)
		if err != nil || got.Rule != st.Rule {
			t.Errorf("the stage's rule is %q after a refused save, want %q (%v)", got.Rule, st.Rule, err)
		}
	})

	t.Run("a manager saves the step", func(t *testing.T) {
		res := manager.submit("/journey", "/journey/"+st.ID, form(st.Rule, "Get the first report out"))
		want(t, "POST", res, http.StatusSeeOther)
		step, err := lifecycle.Step(ctx, s.db, st.ID)
		if err != nil || step.Goal != "Get the first report out" || step.Touch.High != "Weekly call" || step.Position != 1 {
			t.Errorf("step = %+v, %v", step, err)
		}
		want(t, "GET after save", viewer.get("/journey"), http.StatusOK, "Get the first report out", "Weekly call")
		if n := audited(t, s, "journey_step", st.ID); n != 1 {
			t.Errorf("%d audit entries for the step, want 1", n)
		}
		if n := audited(t, s, "stage", st.ID); n != 0 {
			t.Errorf("%d audit entries for the unchanged stage, want 0", n)
		}
	})
}

func TestOnboardingPage(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer := s.as(t, "viewer")
	now := time.Now()
	rep, err := onboarding.BuildReport(ctx, s.db, now)
	if err != nil {
		t.Fatal(err)
	}
	open, err := onboarding.Open(ctx, s.db, now, 180)
	if err != nil {
		t.Fatal(err)
	}
	res := viewer.get("/onboarding")
	if rep.Overall.CompletionRate == nil || len(rep.Cohorts) == 0 {
		t.Fatalf("the demo has no onboarding report: %+v", rep.Overall)
	}
	rate := fmt.Sprintf("%.1f%%", *rep.Overall.CompletionRate*100)
	want(t, "GET /onboarding", res, http.StatusOK, `id="ob-rate">`+rate+`<`, rep.Definition.Rule, "<svg")
	rows := regexp.MustCompile(`<td class="num">(\d+)</td><td>\d{4}-\d\d-\d\d</td>\s*<td><a href="/accounts/([^/"]+)/plan">`).FindAllStringSubmatch(res.Body, -1)
	if len(rows) != len(open) || len(open) == 0 {
		t.Fatalf("%d accounts onboarding on the page, want %d (%v)", len(rows), len(open), open)
	}
	overdue := 0
	for i, o := range open {
		if rows[i][2] != o.AccountID || rows[i][1] != fmt.Sprint(o.DaysElapsed) {
			t.Errorf("row %d = %v, want %s with %d days", i, rows[i][1:], o.AccountID, o.DaysElapsed)
		}
		if o.Status == "overdue" {
			overdue++
		}
	}
	late := viewer.get("/onboarding?status=overdue")
	if n := strings.Count(late.Body, `<tr class="overdue">`); n != overdue || strings.Contains(late.Body, "<td>In progress</td>") {
		t.Errorf("the overdue filter shows %d overdue rows, want %d and no other", n, overdue)
	}

	src, msg := ruleTypo(t)
	f := url.Values{"rule": {src}, "window_days": {"30"}}
	want(t, "viewer POST", viewer.submit("/onboarding", "/onboarding/definition", f), http.StatusForbidden)
	manager := s.as(t, "manager")
	want(t, "POST a typo", manager.submit("/onboarding", "/onboarding/definition", f), http.StatusUnprocessableEntity, msg)
	f.Set("rule", "setup_done")
	f.Set("window_days", "0")
	want(t, "POST a window of 0", manager.submit("/onboarding", "/onboarding/definition", f), http.StatusUnprocessableEntity, "Enter a window from 1 to 365 days.")
	f.Set("window_days", "45")
	want(t, "POST", manager.submit("/onboarding", "/onboarding/definition", f), http.StatusSeeOther)
	if d, err := onboarding.Get(ctx, s.db); err != nil || d.Rule != "setup_done" || d.WindowDays != 45 || d.SavedBy != "user:manager@example.com" {
		t.Errorf("definition = %+v, %v", d, err)
	}
	if n := audited(t, s, "onboarding_definition", "current"); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
}

func TestProspectsPage(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer, csm := s.as(t, "viewer"), s.as(t, "csm")
	queue, err := prospect.Queue(ctx, s.db, time.Now(), "")
	if err != nil || len(queue) < 2 {
		t.Fatalf("queue: %d prospects, %v", len(queue), err)
	}
	res := viewer.get("/prospects")
	want(t, "GET /prospects", res, http.StatusOK)
	got := regexp.MustCompile(`<tr id="p-([^"]+)" data-class="([a-z]+)">`).FindAllStringSubmatch(res.Body, -1)
	if len(got) != len(queue) {
		t.Fatalf("%d rows, want %d", len(got), len(queue))
	}
	rank := map[string]int{"undecided": 0, "decided": 1, "browsing": 2}
	for i, p := range queue {
		if got[i][1] != p.AccountID || got[i][2] != p.Class {
			t.Errorf("row %d = %s (%s), want %s (%s)", i, got[i][1], got[i][2], p.AccountID, p.Class)
		}
		if p.TrialDaysLeft != nil {
			row := res.Body[strings.Index(res.Body, got[i][0]):]
			if days := fmt.Sprintf(`<td class="num">%d</td>`, *p.TrialDaysLeft); !strings.Contains(row[:strings.Index(row, "</tr>")], days) {
				t.Errorf("row %d lacks the trial's days left %s", i, days)
			}
		}
		if i > 0 && rank[got[i][2]] < rank[got[i-1][2]] {
			t.Errorf("row %d (%s) after a %s one: undecided must come first", i, got[i][2], got[i-1][2])
		}
	}
	if queue[0].Class != "undecided" {
		t.Errorf("the demo's first prospect is %s, want an undecided one", queue[0].Class)
	}
	if strings.Contains(res.Body, `/convert"`) {
		t.Error("a viewer is shown the convert form")
	}
	rates, err := prospect.Rates(ctx, s.db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	all := rates[len(rates)-1]
	want(t, "rates", res, http.StatusOK, fmt.Sprintf(`<td>All</td><td class="num">%d</td><td class="num">%d</td>`, all.Prospects, all.Open))

	p := queue[0]
	path := "/prospects/" + p.AccountID
	want(t, "viewer POST", viewer.submit("/prospects", path, url.Values{"part": {"class"}, "class": {"decided"}, "reason": {"r"}}), http.StatusForbidden)
	want(t, "class without a reason", csm.submit("/prospects", path, url.Values{"part": {"class"}, "class": {"decided"}}), http.StatusUnprocessableEntity)
	want(t, "class", csm.submit("/prospects", path, url.Values{"part": {"class"}, "class": {"decided"}, "reason": {"Signed the PoC"}}), http.StatusSeeOther)
	after, err := prospect.Get(ctx, s.db, p.AccountID, time.Now())
	if err != nil || after.Class != "decided" || after.ClassFrom != "override" || after.Override.Reason != "Signed the PoC" {
		t.Errorf("after the override: %+v, %v", after, err)
	}
	src, msg := ruleTypo(t)
	bad := url.Values{"part": {"details"}, "barriers": {"SSO"}, "desired_outcome": {"Weekly reports"}, "criteria": {"Invite the team\nSet up | " + src}}
	want(t, "a criterion's typo", csm.submit("/prospects", path, bad), http.StatusUnprocessableEntity, "Criterion 2: "+msg)
	bad.Set("criteria", "Invite the team\nSet up | setup_done")
	bad["met"] = []string{"Invite the team"}
	want(t, "details", csm.submit("/prospects", path, bad), http.StatusSeeOther)
	after, _ = prospect.Get(ctx, s.db, p.AccountID, time.Now())
	if after.Barriers != "SSO" || len(after.Criteria) != 2 || !after.Criteria[0].Met || after.Criteria[1].Rule != "setup_done" {
		t.Errorf("after the details: %+v", after)
	}
	if n := audited(t, s, "prospect", p.AccountID); n != 2 {
		t.Errorf("%d audit entries, want 2", n)
	}

	conv := url.Values{"mrr": {"500"}, "plan": {"Pro"}}
	want(t, "csm converts", csm.submit("/prospects", path+"/convert", conv), http.StatusForbidden)
	manager := s.as(t, "manager")
	want(t, "no MRR", manager.submit("/prospects", path+"/convert", url.Values{"mrr": {"0"}}), http.StatusUnprocessableEntity, "Enter the MRR")
	res = manager.submit("/prospects", path+"/convert", conv)
	want(t, "convert", res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/accounts/"+p.AccountID+"/plan") {
		t.Errorf("converted to %s", loc)
	}
	if after, _ := prospect.Get(ctx, s.db, p.AccountID, time.Now()); after.Status != "converted" {
		t.Errorf("status %s after converting", after.Status)
	}
	want(t, "convert again", manager.submit("/prospects", path+"/convert", conv), http.StatusConflict)
}

func TestHandoffsPage(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	list, err := successplan.MissingHandoffs(context.Background(), s.db, time.Now(), true)
	if err != nil || len(list) == 0 {
		t.Fatalf("missing handoffs: %d, %v", len(list), err)
	}
	missing := 0
	for _, m := range list {
		if !m.HasHandoff {
			missing++
		}
	}
	res := s.as(t, "viewer").get("/handoffs")
	want(t, "GET /handoffs", res, http.StatusOK, fmt.Sprintf(`id="ho-missing">%d<`, missing), fmt.Sprintf(`id="ho-incomplete">%d<`, len(list)-missing),
		`href="/accounts/`+list[0].AccountID+`/plan#handoff"`, html.EscapeString(list[0].Name))
	if n := strings.Count(res.Body, `/plan#handoff"`); n != len(list) {
		t.Errorf("%d rows, want %d", n, len(list))
	}
}

// checklistAccount gives the demo an onboarding checklist — one milestone
// done from usage events, one by hand — runs the onboarding stage again to
// complete the first from events, and returns an account whose setup the
// events completed and that has no handoff record.
func checklistAccount(t *testing.T, s *site) (id, name string) {
	t.Helper()
	ctx := context.Background()
	for i, m := range []onboarding.ChecklistMilestone{{ID: "setup", Name: "Initial setup", Event: "setup_completed"}, {ID: "kickoff", Name: "Kick-off meeting"}} {
		m.Position = i + 1
		if _, err := onboarding.PutMilestone(ctx, s.db, m, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ob, err := onboarding.NewStage(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recompute.Run(ctx, s.db, demoDay.Add(-time.Second), recompute.Options{Stages: []recompute.Stage{ob}}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT c.account_id, a.name FROM onboarding_checklist c JOIN accounts a ON a.account_id = c.account_id
		WHERE c.milestone_id = 'setup' AND c.source = 'event' AND c.done = 1
		AND NOT EXISTS (SELECT 1 FROM handoffs h WHERE h.account_id = c.account_id) ORDER BY c.account_id LIMIT 1`).Scan(&id, &name); err != nil {
		t.Fatalf("no account without a handoff has its setup done from events: %v", err)
	}
	return id, name
}

func TestPlanPage(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	viewer, csm := s.as(t, "viewer"), s.as(t, "csm")
	id, name := checklistAccount(t, s)
	var otherName string
	if err := s.db.QueryRow(`SELECT name FROM accounts WHERE account_id <> $1 ORDER BY account_id LIMIT 1`, id).Scan(&otherName); err != nil {
		t.Fatal(err)
	}
	path := "/accounts/" + id + "/plan"
	list, err := onboarding.Checklist(ctx, s.db, id)
	if err != nil || len(list) != 2 || !list[0].Done || list[1].Done {
		t.Fatalf("checklist of %s: %+v, %v", id, list, err)
	}

	t.Run("a viewer reads it", func(t *testing.T) {
		res := viewer.get(path)
		// Done from usage: the page shows the day of the first event.
		want(t, "an event's milestone", res, http.StatusOK, `<td class="journey-nowrap">`+list[0].At.UTC().Format("2 Jan 2006")+"</td>\n  <td>from usage</td>")
		want(t, "GET plan", res, http.StatusOK, html.EscapeString(name), `href="/accounts/`+id+`">Overview</a>`, `aria-current="page">Plan</a>`,
			html.EscapeString(list[0].Name), "0%")
		if strings.Contains(res.Body, `action="/accounts/`+id+`/plan`) {
			t.Error("a viewer is shown the plan's forms")
		}
		want(t, "viewer ticks", viewer.submit(path, path+"/checklist/"+list[0].ID, url.Values{"done": {"1"}}), http.StatusForbidden)
		want(t, "unknown account", viewer.get("/accounts/no-such-account/plan"), http.StatusNotFound)
	})

	t.Run("a CSM ticks a milestone", func(t *testing.T) {
		var m onboarding.ChecklistItem
		for _, it := range list {
			if !it.Done {
				m = it
				break
			}
		}
		if m.ID == "" {
			t.Fatalf("every milestone of %s is done: %+v", id, list)
		}
		want(t, "tick", csm.submit(path, path+"/checklist/"+m.ID, url.Values{"done": {"1"}}), http.StatusSeeOther)
		after, _ := onboarding.Checklist(ctx, s.db, id)
		for _, it := range after {
			if it.ID == m.ID && (!it.Done || it.Source != "manual" || it.By != "user:csm@example.com") {
				t.Errorf("after ticking: %+v", it)
			}
		}
		res := csm.get(path)
		row := res.Body[strings.Index(res.Body, `data-milestone="`+m.ID+`"`):]
		if !strings.Contains(row[:strings.Index(row, "</tr>")], "✓ Done") {
			t.Errorf("the ticked row is %s", row[:strings.Index(row, "</tr>")])
		}
		if n := audited(t, s, "onboarding_checklist", id+"/"+m.ID); n != 1 {
			t.Errorf("%d audit entries, want 1", n)
		}
	})

	t.Run("handoff, goals and milestones", func(t *testing.T) {
		h := url.Values{"why_bought": {"Reports took a day"}, "success_criteria": {"Weekly report used by 3 teams\nCut month-end close to 2 days"}}
		want(t, "handoff", csm.submit(path, path+"/handoff", h), http.StatusSeeOther)
		// 2 of the 6 parts: 33% (rounded down).
		want(t, "after the handoff", csm.get(path), http.StatusOK, `id="handoff-pct">33%<`, "<li>Weekly report used by 3 teams</li>")
		want(t, "from the handoff", csm.submit(path, path+"/goals/from-handoff", nil), http.StatusSeeOther)
		goals, err := successplan.Goals(ctx, s.db, id)
		if err != nil || len(goals) != 2 || goals[0].Source != "handoff" || goals[0].Status != "draft" || goals[1].Title != "Cut month-end close to 2 days" {
			t.Fatalf("goals from the handoff: %+v, %v", goals, err)
		}

		src, msg := ruleTypo(t)
		g := url.Values{"title": {"Set up"}, "tracking": {"rule"}, "rule": {src}, "status": {"agreed"}}
		want(t, "a goal's typo", csm.submit(path, path+"/goals", g), http.StatusUnprocessableEntity, msg, `value="Set up"`)
		g.Set("tracking", "metric")
		g.Set("metric", "tenure_days")
		g.Del("rule")
		want(t, "a metric without target", csm.submit(path, path+"/goals", g), http.StatusUnprocessableEntity, "required with tracking metric")
		g = url.Values{"title": {"Live for a day"}, "tracking": {"rule"}, "rule": {"tenure_days >= 0"}, "status": {"agreed"}}
		want(t, "a goal", csm.submit(path, path+"/goals", g), http.StatusSeeOther)
		// The agreed goal is met (100%); the customer's progress is its mean.
		want(t, "after the goal", csm.get(path), http.StatusOK, `id="plan-progress">100.0%<`, "Live for a day")

		ms := url.Values{"title": {"Kick-off call"}, "owner_email": {"csm@example.com"}, "due_at": {"2020-01-15"}, "goal_id": {goals[0].ID}}
		want(t, "a milestone", csm.submit(path, path+"/milestones", ms), http.StatusSeeOther)
		ms.Set("due_at", "15/01/2020")
		want(t, "a bad date", csm.submit(path, path+"/milestones", ms), http.StatusUnprocessableEntity, "Enter a date as YYYY-MM-DD.")
		res := csm.get(path)
		want(t, "after the milestone", res, http.StatusOK, "Kick-off call", `class="journey-overdue">Overdue<`, "15 Jan 2020")
		got, err := successplan.Milestones(ctx, s.db, id)
		if err != nil || len(got) != 1 || got[0].GoalID != goals[0].ID {
			t.Fatalf("milestones %+v, %v", got, err)
		}
		ms = url.Values{"title": {"Kick-off call"}, "status": {"done"}}
		want(t, "milestone done", csm.submit(path, path+"/milestones/"+got[0].ID, ms), http.StatusSeeOther)
		if m, _ := successplan.GetMilestone(ctx, s.db, id, got[0].ID); m.Status != "done" || m.CompletedAt == nil {
			t.Errorf("milestone after done: %+v", m)
		}
		if n := audited(t, s, "success_milestone", got[0].ID); n != 2 {
			t.Errorf("%d audit entries for the milestone, want 2", n)
		}
	})

	t.Run("the customer's link", func(t *testing.T) {
		res := csm.submit(path, path+"/shares", nil)
		want(t, "make a link", res, http.StatusOK, `id="share-url"`)
		m := regexp.MustCompile(`id="share-url">https?://[^/]+(/share/[^<]+)<`).FindStringSubmatch(res.Body)
		if m == nil {
			t.Fatalf("no link on the page")
		}
		anon := s.anon(t)
		page := anon.get(m[1])
		want(t, "the shared page", page, http.StatusOK, "Live for a day", html.EscapeString(name))
		for _, bad := range []string{"Weekly report used by 3 teams", "tenure_days", "<form", "<input", html.EscapeString(otherName), "Reports took a day"} {
			if strings.Contains(page.Body, bad) {
				t.Errorf("the shared page shows %q", bad)
			}
		}
		shares, err := successplan.Shares(ctx, s.db, id)
		if err != nil || len(shares) != 1 {
			t.Fatalf("shares %v %v", shares, err)
		}
		want(t, "viewer revokes", viewer.submit(path, path+"/shares/"+shares[0].ID+"/revoke", nil), http.StatusForbidden)
		want(t, "revoke", csm.submit(path, path+"/shares/"+shares[0].ID+"/revoke", nil), http.StatusSeeOther)
		want(t, "the revoked page", anon.get(m[1]), http.StatusGone, "This link is no longer active")
		other := m[1][:len(m[1])-1] + "a"
		if other == m[1] {
			other = m[1][:len(m[1])-1] + "b"
		}
		want(t, "an unknown link", anon.get(other), http.StatusNotFound, "Page not found")
		want(t, "after revoking", csm.get(path), http.StatusOK, "Revoked ")
		if n := audited(t, s, "success_plan_share", shares[0].ID); n != 2 {
			t.Errorf("%d audit entries for the link, want 2", n)
		}
	})
}
