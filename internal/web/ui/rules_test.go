package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/billing"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

var (
	rowRe  = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellRe = regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`)
	tagRe  = regexp.MustCompile(`<[^>]+>`)
	// nonDigit strips an amount to its digits.
	nonDigit = regexp.MustCompile(`[^0-9]`)
)

// rowCells returns the text of the cells of the first table row holding
// marker, or fails.
func rowCells(t *testing.T, body, marker string) []string {
	t.Helper()
	for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], marker) {
			continue
		}
		var out []string
		for _, c := range cellRe.FindAllStringSubmatch(m[1], -1) {
			text := html.UnescapeString(tagRe.ReplaceAllString(c[1], " "))
			out = append(out, strings.Join(strings.Fields(text), " "))
		}
		return out
	}
	t.Fatalf("no table row with %q in:\n%s", marker, body)
	return nil
}

// count runs a COUNT query.
func count(t *testing.T, s *site, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// playbookForm is the editor's form for a rule-triggered playbook with one task.
func playbookForm(id, condition, holdout string) url.Values {
	return url.Values{"playbook_id": {id}, "name": {"Low health, big account"}, "enabled": {"1"},
		"trigger": {"rule"}, "condition": {condition}, "band": {"red"}, "days": {"x"}, "filter": {"arr >= 1000"},
		"cooldown_days": {"14"}, "holdout": {holdout}, "actions": {"2"},
		"a0.type": {"task"}, "a0.title": {"Call {{.Account.Name}}"}, "a0.due_in_days": {"3"}, "a0.priority": {"high"},
		"a0.to": {"ignored@example.com"}, "a1.type": {""}}
}

func TestRulesPlaybooks(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	manager := s.as(t, user.RoleManager)

	t.Run("the list counts each playbook's firings and open tasks", func(t *testing.T) {
		res := s.as(t, user.RoleViewer).get("/playbooks")
		want(t, "GET /playbooks", res, http.StatusOK, "Health turned red → call", "Renewal in 90 days → renewal prep")
		if strings.Contains(res.Body, `href="/playbooks/new"`) {
			t.Errorf("a viewer is offered to create a playbook")
		}
		for _, id := range []string{"health-red-call", "renewal-90-prep", "nps-detractor-followup"} {
			cells := rowCells(t, res.Body, `href="/playbooks/`+id+`"`)
			acted := count(t, s, `SELECT COUNT(*) FROM enrollments WHERE playbook_id = $1 AND holdout = 0`, id)
			held := count(t, s, `SELECT COUNT(*) FROM enrollments WHERE playbook_id = $1 AND holdout = 1`, id)
			open := count(t, s, `SELECT COUNT(*) FROM tasks WHERE playbook_id = $1 AND status IN ('open', 'in_progress')`, id)
			want := []string{"10.0%", strconv.Itoa(acted), strconv.Itoa(held), strconv.Itoa(open)}
			if got := cells[4:8]; strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s: holdout, acted on, held out, open tasks = %v, want %v", id, got, want)
			}
			if id == "health-red-call" && acted == 0 {
				t.Errorf("the demo's red-health playbook never fired: the counts test nothing")
			}
		}
	})

	t.Run("the detail page shows recent firings", func(t *testing.T) {
		res := s.as(t, user.RoleViewer).get("/playbooks/health-red-call")
		want(t, "GET /playbooks/health-red-call", res, http.StatusOK, "Health band turns red", "Recent firings", "due in 3 days")
		var last string
		if err := s.db.QueryRow(`SELECT account_id FROM enrollments WHERE playbook_id = 'health-red-call' ORDER BY fired_at DESC, enrollment_id DESC LIMIT 1`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Body, last) {
			t.Errorf("the newest firing (%s) is not shown", last)
		}
		if strings.Contains(res.Body, `action="/playbooks/health-red-call/delete"`) {
			t.Errorf("a viewer is offered to delete")
		}
		want(t, "GET an unknown playbook", s.as(t, user.RoleViewer).get("/playbooks/nope"), http.StatusNotFound, `There is no playbook &#34;nope&#34;.`)
	})

	t.Run("roles and CSRF", func(t *testing.T) {
		csm := s.as(t, user.RoleCSM)
		want(t, "csm GET /playbooks/new", csm.get("/playbooks/new"), http.StatusForbidden, "it needs manager or above")
		want(t, "csm GET edit", csm.get("/playbooks/health-red-call/edit"), http.StatusForbidden)
		want(t, "csm disables", csm.submit("/playbooks", "/playbooks/health-red-call/enabled", url.Values{"enabled": {"false"}}), http.StatusForbidden)
		want(t, "manager without CSRF", manager.post("/playbooks", playbookForm("no-csrf", "health_score < 40", "10")), http.StatusForbidden, "This form has expired")
		if _, err := playbook.Get(context.Background(), s.db, "no-csrf"); err != playbook.ErrNotFound {
			t.Errorf("a form without the CSRF token was saved: %v", err)
		}
		p, _ := playbook.Get(context.Background(), s.db, "health-red-call")
		if !p.Enabled {
			t.Errorf("the csm's refused request disabled the playbook")
		}
	})

	t.Run("a rule with a typo is refused beside the field with its position", func(t *testing.T) {
		for _, tc := range []struct {
			condition, holdout string
			want               []string
		}{
			{"helth_score < 40", "10", []string{"Line 1, column 1: unknown name helth_score (did you mean health_score?)"}},
			{"mrr >", "10", []string{"Line 1, column 5: unexpected token EOF"}},
			{"health_score < 40", "60", []string{"The holdout share must be between 0 and 50 %."}},
			{"health_score < 40", "ten", []string{"&#34;ten&#34; is not a number."}},
		} {
			res := manager.submit("/playbooks/new", "/playbooks", playbookForm("low-health-big", tc.condition, tc.holdout))
			want(t, "save with "+tc.condition+" and holdout "+tc.holdout, res, http.StatusUnprocessableEntity,
				append(tc.want, "The playbook was not saved", `value="Low health, big account"`)...)
		}
		if _, err := playbook.Get(context.Background(), s.db, "low-health-big"); err != playbook.ErrNotFound {
			t.Fatalf("a refused playbook was stored: %v", err)
		}
	})

	t.Run("a valid playbook is saved with an audit entry", func(t *testing.T) {
		res := manager.submit("/playbooks/new", "/playbooks", playbookForm("low-health-big", "health_score < 40", "20"))
		want(t, "save", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/playbooks/low-health-big?notice=") {
			t.Errorf("saved, to %q", loc)
		}
		p, err := playbook.Get(context.Background(), s.db, "low-health-big")
		if err != nil {
			t.Fatal(err)
		}
		// The band and days typed before choosing the rule trigger are dropped,
		// and so is the task's "to" (an email field).
		wantTrigger := playbook.Trigger{Type: "rule", Condition: "health_score < 40"}
		if p.Trigger != wantTrigger || p.HoldoutShare != 0.2 || p.CooldownDays != 14 || p.Filter != "arr >= 1000" || !p.Enabled ||
			len(p.Actions) != 1 || p.Actions[0] != (playbook.Action{Type: "task", Title: "Call {{.Account.Name}}", DueInDays: 3, Priority: "high"}) {
			t.Errorf("stored %+v", p)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE actor = 'user:manager@example.com' AND action = 'create' AND object_type = 'playbook' AND object_id = 'low-health-big'`); n != 1 {
			t.Errorf("%d audit entries for the creation", n)
		}
		res = manager.submit("/playbooks/new", "/playbooks", playbookForm("low-health-big", "health_score < 40", "20"))
		want(t, "create it again", res, http.StatusUnprocessableEntity, "A playbook with this id exists")
	})

	t.Run("edit, disable and delete", func(t *testing.T) {
		res := manager.get("/playbooks/low-health-big/edit")
		want(t, "GET edit", res, http.StatusOK, `data-validate="/rules/validate"`, `>health_score &lt; 40</textarea>`, `name="holdout" value="20"`)
		form := playbookForm("", "health_score < 30", "0")
		res = manager.submit("/playbooks/low-health-big/edit", "/playbooks/low-health-big", form)
		want(t, "update", res, http.StatusSeeOther)
		p, _ := playbook.Get(context.Background(), s.db, "low-health-big")
		if p.Trigger.Condition != "health_score < 30" || p.HoldoutShare != 0 {
			t.Errorf("updated to %+v", p)
		}
		res = manager.submit("/playbooks/low-health-big", "/playbooks/low-health-big/enabled", url.Values{"enabled": {"false"}})
		want(t, "disable", res, http.StatusSeeOther)
		if p, _ := playbook.Get(context.Background(), s.db, "low-health-big"); p.Enabled {
			t.Errorf("still enabled")
		}
		page := manager.get("/playbooks/low-health-big")
		want(t, "detail", page, http.StatusOK, `data-confirm="Delete the playbook Low health, big account?`)
		res = manager.submit("/playbooks/low-health-big", "/playbooks/low-health-big/delete", nil)
		want(t, "delete", res, http.StatusSeeOther)
		if _, err := playbook.Get(context.Background(), s.db, "low-health-big"); err != playbook.ErrNotFound {
			t.Errorf("after delete: %v", err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'playbook' AND object_id = 'low-health-big'`); n != 4 {
			t.Errorf("%d audit entries (create, update, disable, delete)", n)
		}
	})

	t.Run("live validation answers with the position", func(t *testing.T) {
		for _, tc := range []struct {
			rule, kind string
			ok         bool
			err        string
		}{
			{"health_score < 40", "bool", true, ""},
			{"helth_score < 40", "bool", false, "Line 1, column 1: unknown name helth_score (did you mean health_score?)"},
			{"mrr >", "bool", false, "Line 1, column 5: unexpected token EOF"},
			{"arr / 12", "number", true, ""},
			{"arr / 12", "bool", false, "Line 1, column 1: expected bool"},
			{`"vip" in segments`, "bool", true, ""},
			{`"vip" in segments`, "segment", false, "a segment's rule cannot use segments"},
		} {
			res := manager.submit("/playbooks/new", "/rules/validate", url.Values{"rule": {tc.rule}, "kind": {tc.kind}})
			var out struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(res.Body), &out); err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("validate %q = %d %q: %v", tc.rule, res.StatusCode, res.Body, err)
			}
			if out.OK != tc.ok || !strings.Contains(out.Error, tc.err) {
				t.Errorf("validate %q as %s = %+v, want ok %v and %q", tc.rule, tc.kind, out, tc.ok, tc.err)
			}
		}
		want(t, "validate without CSRF", manager.post("/rules/validate", url.Values{"rule": {"true"}}), http.StatusForbidden)
	})

	t.Run("Japanese", func(t *testing.T) {
		ja := s.as(t, user.RoleManager)
		want(t, "choose Japanese", ja.submit("/me", "/me/language", url.Values{"language": {"ja"}, "next": {"/me"}}), http.StatusSeeOther)
		want(t, "GET /playbooks in Japanese", ja.get("/playbooks"), http.StatusOK, "<h1>プレイブック</h1>", "実行済み", "ヘルスバンドが「危険」に変化")
		res := ja.submit("/playbooks/new", "/playbooks", playbookForm("ja-typo", "helth_score < 40", "10"))
		want(t, "a typo in Japanese", res, http.StatusUnprocessableEntity, "1 行 1 列目: unknown name helth_score", "プレイブックは保存されていません")
	})
}

func TestRulesSegments(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	manager := s.as(t, user.RoleManager)
	seg := func(id, rule string) url.Values {
		return url.Values{"segment_id": {id}, "name": {"Big " + id}, "description": {"ARR of 10k and more"}, "rule": {rule}}
	}

	t.Run("the demo's segments show their stored membership", func(t *testing.T) {
		res := s.as(t, user.RoleViewer).get("/segments")
		want(t, "GET /segments", res, http.StatusOK)
		for _, id := range []string{"at_risk", "champions", "enterprise", "onboarding"} {
			members := count(t, s, `SELECT COUNT(*) FROM segment_members WHERE segment_id = $1`, id)
			if cells := rowCells(t, res.Body, "<code>"+id+"</code>"); cells[2] != strconv.Itoa(members) {
				t.Errorf("segment %s: stored members %s; the database has %d", id, cells[4], members)
			}
		}
		if strings.Contains(res.Body, `action="/segments/coverage/assign"`) || strings.Contains(res.Body, `href="/segments/new"`) {
			t.Errorf("a viewer is offered to edit")
		}
	})

	t.Run("the editor checks the rule on save", func(t *testing.T) {
		for _, tc := range []struct {
			form url.Values
			want string
		}{
			{seg("big", "arr >="), "Line 1, column 6: unexpected token EOF"},
			{seg("big", `"x" in segments`), "Line 1, column 8: a segment&#39;s rule cannot use segments"},
			{seg("Big One", "arr >= 10000"), "Use lower-case letters, digits and _"},
		} {
			res := manager.submit("/segments/new", "/segments", tc.form)
			want(t, "save "+tc.form.Get("rule"), res, http.StatusUnprocessableEntity, tc.want, "The segment was not saved")
		}
		want(t, "csm creates", s.as(t, user.RoleCSM).submit("/segments", "/segments", seg("big", "arr >= 10000")), http.StatusForbidden)
		want(t, "csm opens the editor", s.as(t, user.RoleCSM).get("/segments/new"), http.StatusForbidden)
		want(t, "manager without CSRF", manager.post("/segments", seg("big", "arr >= 10000")), http.StatusForbidden)
		if n := count(t, s, `SELECT COUNT(*) FROM segments WHERE segment_id = 'big'`); n != 0 {
			t.Fatalf("a refused segment was stored")
		}
	})

	t.Run("saved segments list their live members and ARR", func(t *testing.T) {
		for _, f := range []url.Values{seg("big", "arr >= 10000"), seg("red", `health_band == "red"`)} {
			res := manager.submit("/segments/new", "/segments", f)
			want(t, "save "+f.Get("segment_id"), res, http.StatusSeeOther)
		}
		res := s.as(t, user.RoleViewer).get("/segments?live=1")
		want(t, "GET /segments?live=1", res, http.StatusOK, "Workload per CSM", "Touch tiers", "Members now")
		snaps, err := snapshot.All(context.Background(), s.db, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cur, err := billing.ReportingCurrency(context.Background(), s.db)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"big", "red"} {
			members := count(t, s, `SELECT COUNT(*) FROM segment_members WHERE segment_id = $1`, id)
			if members == 0 {
				t.Errorf("segment %s has no members: the count tests nothing", id)
			}
			cells := rowCells(t, res.Body, "<code>"+id+"</code>")
			if cells[2] != strconv.Itoa(members) || cells[4] != strconv.Itoa(members) {
				t.Errorf("segment %s: stored members %s, members now %s; the database has %d", id, cells[2], cells[4], members)
			}
			// The ARR is the members' snapshot ARR, shown in the reporting currency.
			var arr float64
			for _, sn := range snaps {
				if count(t, s, `SELECT COUNT(*) FROM segment_members WHERE segment_id = $1 AND account_id = $2`, id, sn.AccountID) == 1 {
					arr += sn.ARR
				}
			}
			minor := math.Round(arr * 100)
			if cur == "JPY" {
				minor = math.Round(arr)
			}
			if got := nonDigit.ReplaceAllString(cells[3], ""); got != strconv.FormatFloat(minor, 'f', 0, 64) {
				t.Errorf("segment %s: ARR %q, want %.2f %s", id, cells[3], arr, cur)
			}
		}
	})

	t.Run("the workload table matches the owners", func(t *testing.T) {
		res := s.as(t, user.RoleViewer).get("/segments")
		var email string
		var owned int
		if err := s.db.QueryRow(`SELECT owner_email, COUNT(*) FROM accounts WHERE owner_email IS NOT NULL AND owner_email <> ''
			GROUP BY owner_email ORDER BY COUNT(*) DESC, owner_email LIMIT 1`).Scan(&email, &owned); err != nil {
			t.Fatal(err)
		}
		cells := rowCells(t, res.Body, email)
		if cells[1] != strconv.Itoa(owned) {
			t.Errorf("%s owns %d accounts; the table says %s", email, owned, cells[1])
		}
	})

	t.Run("edit and delete", func(t *testing.T) {
		want(t, "GET edit", manager.get("/segments/big/edit"), http.StatusOK, `data-validate-kind="segment"`, ">arr &gt;= 10000</textarea>")
		res := manager.submit("/segments/big/edit", "/segments/big", url.Values{"name": {"Bigger"}, "rule": {"arr >= 1000000000"}})
		want(t, "update", res, http.StatusSeeOther)
		if n := count(t, s, `SELECT COUNT(*) FROM segment_members WHERE segment_id = 'big'`); n != 0 {
			t.Errorf("after raising the bar to a billion, %d members remain", n)
		}
		want(t, "delete", manager.submit("/segments", "/segments/big/delete", nil), http.StatusSeeOther)
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'segment' AND object_id = 'big' AND actor = 'user:manager@example.com'`); n != 3 {
			t.Errorf("%d audit entries (create, update, delete)", n)
		}
	})

	t.Run("auto-assign gives every unassigned customer an owner", func(t *testing.T) {
		want(t, "csm assigns", s.as(t, user.RoleCSM).submit("/segments", "/segments/coverage/assign", url.Values{"strategy": {"fewest_accounts"}}), http.StatusForbidden)
		res := manager.submit("/segments", "/segments/coverage/assign", url.Values{"strategy": {"round_robin"}})
		want(t, "assign", res, http.StatusSeeOther)
		notice, _ := url.QueryUnescape(strings.TrimPrefix(res.Header.Get("Location"), "/segments?notice="))
		var n int
		if _, err := fmt.Sscanf(notice, "%d accounts assigned.", &n); err != nil {
			t.Fatalf("notice %q: %v", notice, err)
		}
		if got := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE actor = 'user:manager@example.com' AND object_type = 'account'`); got != n {
			t.Errorf("%d accounts assigned, %d audit entries", n, got)
		}
		want(t, "bad strategy", manager.submit("/segments", "/segments/coverage/assign", url.Values{"strategy": {"dice"}}), http.StatusUnprocessableEntity, "strategy")
	})
}

// modelForm is the editor's form for m, as the page fills it.
func modelForm(m health.Model) url.Values {
	f := url.Values{"name": {m.Name}, "description": {m.Description}, "applies_to": {m.AppliesTo},
		"priority": {strconv.Itoa(m.Priority)}, "measures": {strconv.Itoa(len(m.Measures))}}
	if m.Bands.RedBelow != nil {
		f.Set("red_below", strconv.FormatFloat(*m.Bands.RedBelow, 'f', -1, 64))
	}
	if m.Bands.YellowBelow != nil {
		f.Set("yellow_below", strconv.FormatFloat(*m.Bands.YellowBelow, 'f', -1, 64))
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for i, ms := range m.Measures {
		p := fmt.Sprintf("m%d.", i)
		f.Set(p+"name", ms.Name)
		f.Set(p+"field", ms.Field)
		f.Set(p+"when", ms.When)
		f.Set(p+"weight", num(ms.Weight))
		if ms.Linear != nil {
			f.Set(p+"map", "linear")
			f.Set(p+"from", num(ms.Linear.From))
			f.Set(p+"to", num(ms.Linear.To))
		} else {
			var parts []string
			for _, th := range ms.Thresholds {
				parts = append(parts, num(th.Min)+":"+num(th.Score))
			}
			f.Set(p+"map", "thresholds")
			f.Set(p+"thresholds", strings.Join(parts, ", "))
		}
	}
	return f
}

var tileRe = regexp.MustCompile(`(?s)<div class="label">(.*?)</div><div class="value">([^<]*)</div>`)

// tiles returns the preview's tiles by label.
func tiles(body string) map[string]int {
	out := map[string]int{}
	for _, m := range tileRe.FindAllStringSubmatch(body, -1) {
		n, err := strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		if err == nil {
			out[strings.TrimSpace(tagRe.ReplaceAllString(m[1], ""))] = n
		}
	}
	return out
}

// thousands writes n with English thousands separators.
func thousands(n int) string {
	d := strconv.Itoa(n)
	for i := len(d) - 3; i > 0; i -= 3 {
		d = d[:i] + "," + d[i:]
	}
	return d
}

var histRowRe = regexp.MustCompile(`<tr><th scope="row">\d+–\d+</th><td class="num">([0-9,]+)</td></tr>`)

func TestRulesHealth(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	manager := s.as(t, user.RoleManager)
	ctx := context.Background()
	saved, err := health.GetModel(ctx, s.db, "default")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the list, for a viewer", func(t *testing.T) {
		viewer := s.as(t, user.RoleViewer)
		res := viewer.get("/health")
		want(t, "GET /health", res, http.StatusOK, "Default health", "Default: every other account", `href="/health/export"`)
		if cells := rowCells(t, res.Body, "Default health"); cells[3] != "8" {
			t.Errorf("measures = %q, want 8", cells[3])
		}
		want(t, "viewer opens the editor", viewer.get("/health/default"), http.StatusForbidden)
		want(t, "csm previews", s.as(t, user.RoleCSM).submit("/health", "/health/default/preview", modelForm(saved)), http.StatusForbidden)
	})

	t.Run("the back-test AUC", func(t *testing.T) {
		bt, err := health.RunBacktest(ctx, s.db, saved, time.Now())
		if err != nil || bt.AUC == nil {
			t.Fatalf("back-test: %+v, %v", bt, err)
		}
		res := s.as(t, user.RoleViewer).get("/health?backtest=1")
		want := fmt.Sprintf("%.2f (%s observations, %d churned)", *bt.AUC, thousands(bt.Accounts), bt.Churned)
		if cells := rowCells(t, res.Body, "Default health"); cells[5] != want {
			t.Errorf("AUC cell %q, want %q", cells[5], want)
		}
	})

	var before map[string]int // the preview's tiles with the saved model
	t.Run("the preview of the saved model changes no band", func(t *testing.T) {
		want(t, "GET editor", manager.get("/health/default"), http.StatusOK, `value="CSM sentiment"`, `data-validate-kind="number"`)
		snaps, err := snapshot.All(ctx, s.db, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := manager.submit("/health/default", "/health/default/preview", modelForm(saved))
		want(t, "preview", res, http.StatusOK, "Preview (not saved)")
		tl := tiles(res.Body)
		before = tl
		// The default model is the only one, so it scores every account.
		if tl["Accounts scored by this model"] != len(snaps) || tl["Accounts changing band"] != 0 ||
			tl["red"]+tl["yellow"]+tl["green"] != len(snaps) {
			t.Errorf("tiles %v, %d snapshots", tl, len(snaps))
		}
		sum := 0
		rows := histRowRe.FindAllStringSubmatch(res.Body, -1)
		for _, m := range rows {
			n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			sum += n
		}
		if len(rows) != 10 || sum != len(snaps) {
			t.Errorf("the histogram has %d buckets summing to %d; %d accounts are scored", len(rows), sum, len(snaps))
		}
	})

	t.Run("a preview with every score red, not saved", func(t *testing.T) {
		f := modelForm(saved)
		f.Set("red_below", "100.5")
		f.Set("yellow_below", "100.5")
		res := manager.submit("/health/default", "/health/default/preview", f)
		want(t, "preview", res, http.StatusUnprocessableEntity, "need 0 ≤ red_below (100.5) ≤ yellow_below (100.5) ≤ 100")
		f.Set("red_below", "100")
		f.Set("yellow_below", "100")
		res = manager.submit("/health/default", "/health/default/preview", f)
		want(t, "preview", res, http.StatusOK)
		tl := tiles(res.Body)
		// Every score is red but 100, which stays green: the accounts that
		// change are those yellow or green before, less the ones at 100.
		if tl["yellow"] != 0 || tl["red"]+tl["green"] != tl["Accounts scored by this model"] ||
			tl["Accounts changing band"] != before["yellow"]+before["green"]-tl["green"] || tl["Accounts changing band"] == 0 {
			t.Errorf("tiles %v; with the saved model %v", tl, before)
		}
		if m, _ := health.GetModel(ctx, s.db, "default"); *m.Bands.RedBelow != 40 || m.Version != saved.Version {
			t.Errorf("the preview saved the model: %+v", m)
		}
	})

	t.Run("save validates the measures", func(t *testing.T) {
		f := modelForm(saved)
		f.Set("m1.field", "setup_don ? 100 : 0")
		f.Set("m2.thresholds", "0:0, one:60")
		res := manager.submit("/health/default", "/health/default", f)
		want(t, "save with a typo", res, http.StatusUnprocessableEntity, "&#34;one:60&#34; is not min:score")
		f.Set("m2.thresholds", "0:0, 1:60, 4:100")
		res = manager.submit("/health/default", "/health/default", f)
		want(t, "save with a typo", res, http.StatusUnprocessableEntity,
			"Line 1, column 1: unknown name setup_don (did you mean setup_done?)", `>setup_don ? 100 : 0</textarea>`)
		f.Set("m1.field", saved.Measures[1].Field)
		f.Set("m0.weight", "5")
		f.Set("m7.remove", "1")
		res = manager.submit("/health/default", "/health/default", f)
		want(t, "save", res, http.StatusSeeOther)
		m, _ := health.GetModel(ctx, s.db, "default")
		if m.Version != saved.Version+1 || m.Measures[0].Weight != 5 || len(m.Measures) != 7 || m.Measures[6].Name != "Payment failures" {
			t.Errorf("saved %+v", m)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'health_model' AND object_id = 'default' AND action = 'update' AND actor = 'user:manager@example.com'`); n != 1 {
			t.Errorf("%d audit entries", n)
		}
	})

	t.Run("export and import", func(t *testing.T) {
		res := s.as(t, user.RoleViewer).get("/health/export")
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "kizuna-health-models.json") {
			t.Fatalf("export = %d %v", res.StatusCode, res.Header)
		}
		f, err := health.ReadFile(strings.NewReader(res.Body))
		if err != nil || len(f.Models) != 1 || len(f.Models[0].Measures) != 7 {
			t.Fatalf("exported %+v, %v", f, err)
		}
		upload := func(data string) response {
			return manager.upload("/health/import", manager.csrf("/health"), nil, "models.json", data)
		}
		bad := strings.Replace(res.Body, `"weight": 5`, `"weight": 0`, 1)
		want(t, "import a zero weight", upload(bad), http.StatusUnprocessableEntity, "the weight must be a number greater than 0")
		if m, _ := health.GetModel(ctx, s.db, "default"); m.Version != saved.Version+1 {
			t.Errorf("a refused import changed the model: version %d", m.Version)
		}
		want(t, "import", upload(res.Body), http.StatusSeeOther)
		if m, _ := health.GetModel(ctx, s.db, "default"); m.Version != saved.Version+2 {
			t.Errorf("after the import, version %d", m.Version)
		}
	})
	t.Run("a new model for the enterprise segment", func(t *testing.T) {
		ent, err := segment.Get(ctx, s.db, "enterprise")
		if err != nil {
			t.Fatal(err)
		}
		m := saved
		m.Name, m.AppliesTo, m.Priority = "Enterprise health", ent.Rule, 1
		f := modelForm(m)
		f.Set("id", "enterprise")
		want(t, "without CSRF", manager.post("/health", f), http.StatusForbidden)
		// The preview scores exactly the accounts the enterprise segment
		// holds now, and the default model keeps the others.
		snaps, err := snapshot.All(ctx, s.db, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		members, err := segment.Evaluate(ent, snaps)
		if err != nil || len(members) == 0 {
			t.Fatalf("enterprise members: %v, %v", members, err)
		}
		res := manager.submit("/health/new", "/health/preview", f)
		want(t, "preview", res, http.StatusOK, "Preview (not saved)")
		if tl := tiles(res.Body); tl["Accounts scored by this model"] != len(members) {
			t.Errorf("the new model scores %d accounts; the segment has %d", tl["Accounts scored by this model"], len(members))
		}
		want(t, "save", manager.submit("/health/new", "/health", f), http.StatusSeeOther)
		got, err := health.GetModel(ctx, s.db, "enterprise")
		if err != nil || got.AppliesTo != ent.Rule || got.Priority != 1 || len(got.Measures) != len(saved.Measures) || got.Version != 1 {
			t.Errorf("saved %+v, %v", got, err)
		}
		list := s.as(t, user.RoleViewer).get("/health")
		if cells := rowCells(t, list.Body, "Enterprise health"); cells[1] != ent.Rule || cells[2] != "1" {
			t.Errorf("the list shows %q", cells)
		}
		want(t, "create it again", manager.submit("/health/new", "/health", f), http.StatusUnprocessableEntity, "A health model with this id exists")
		// A second default model is refused: exactly one is required.
		f.Set("id", "second")
		f.Set("applies_to", "")
		want(t, "a second default", manager.submit("/health/new", "/health", f), http.StatusUnprocessableEntity, "exactly one default model")
	})
	// Last: choosing Japanese is the manager's setting, for every later request.
	t.Run("Japanese", func(t *testing.T) {
		ja := s.as(t, user.RoleManager)
		want(t, "choose Japanese", ja.submit("/me", "/me/language", url.Values{"language": {"ja"}, "next": {"/me"}}), http.StatusSeeOther)
		want(t, "GET /health in Japanese", ja.get("/health"), http.StatusOK, "<h1>ヘルススコアモデル</h1>", "デフォルト: その他すべての取引先")
		res := ja.submit("/health/default", "/health/default/preview", modelForm(saved))
		want(t, "preview in Japanese", res, http.StatusOK, "プレビュー（未保存）", "このモデルでスコアリングされる取引先", `<span class="tag band-red">危険</span>`)
		want(t, "GET /segments in Japanese", ja.get("/segments"), http.StatusOK, "CSM ごとの担当量", "ハイタッチ", "担当取引先の最も少ない CSM へ")
	})

}
