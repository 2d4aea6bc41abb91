package ui_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
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

// programForm is the editor's form of a program with three measures; the
// churn slot's feature is one typed before its kind changed.
func programForm(id string) url.Values {
	return url.Values{"id": {id}, "name": {"Integrations call"}, "goal": {"Fewer small customers churn"},
		"hypothesis": {"A call about integrations makes them stick"}, "action": {"call"}, "segment_id": {""}, "playbook_id": {""},
		"start_date": {"2026-06-01"}, "pre_days": {"21"}, "post_days": {""}, "measures": {"4"},
		"m0.kind": {"adoption"}, "m0.feature": {"integrations"}, "m0.days": {""},
		"m1.kind": {""}, "m1.feature": {"reports"},
		"m2.kind": {"churn"}, "m2.feature": {"reports"}, "m2.days": {""},
		"m3.kind": {"health"}}
}

// TestProgramEditor: managers create, edit and delete programs from the
// UI, refused with the package's validation beside the field; others may not.
func TestProgramEditor(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	manager, csm := s.as(t, user.RoleManager), s.as(t, user.RoleCSM)

	t.Run("roles", func(t *testing.T) {
		want(t, "manager's list", manager.get("/programs"), http.StatusOK, `href="/programs/new"`)
		if res := csm.get("/programs"); strings.Contains(res.Body, `href="/programs/new"`) {
			t.Error("a CSM is offered New program")
		}
		want(t, "csm GET new", csm.get("/programs/new"), http.StatusForbidden)
		want(t, "csm POST", csm.submit("/programs", "/programs", programForm("csm-made")), http.StatusForbidden)
		want(t, "csm edit", csm.submit("/programs", "/programs/"+demo.SeminarProgram, programForm(demo.SeminarProgram)), http.StatusForbidden)
		want(t, "csm delete", csm.submit("/programs", "/programs/"+demo.SeminarProgram+"/delete", nil), http.StatusForbidden)
		if _, err := program.Get(ctx, s.db, "csm-made"); !errors.Is(err, program.ErrNotFound) {
			t.Errorf("a CSM's program was stored: %v", err)
		}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/programs/new", nil)
		req.Header.Set("Accept-Language", "ja")
		want(t, "Japanese editor", manager.do(req), http.StatusOK, "新しい施策", "成果指標", "機能のアダプション")
	})

	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			name string
			set  map[string]string
			want []string
		}{
			{"no measure", map[string]string{"m0.kind": "", "m2.kind": "", "m3.kind": ""},
				[]string{"at least one outcome measure (adoption, events, health, churn or expansion)"}},
			{"adoption without a feature", map[string]string{"m0.feature": ""},
				[]string{"required for adoption: the usage event to measure", `<option value="adoption" selected>`}},
			{"pre-period not a number", map[string]string{"pre_days": "three weeks"},
				[]string{"&#34;three weeks&#34; is not a whole number.", `name="pre_days" value="three weeks"`}},
			{"pre-period too long", map[string]string{"pre_days": "400"}, []string{"400 is not between 1 and 365"}},
			{"churn days negative", map[string]string{"m2.days": "-5"}, []string{"-5 is not between 1 and 3650"}},
			{"bad start date", map[string]string{"start_date": "June"}, []string{"Enter a date as YYYY-MM-DD."}},
			{"no name", map[string]string{"name": " "}, []string{`name="name" value="" aria-invalid="true"`}},
			{"id with a space", map[string]string{"id": "new program"}, []string{"at most 100 bytes, without spaces"}},
			{"an existing id", map[string]string{"id": demo.SeminarProgram}, []string{"A program with this id exists; choose another id."}},
		} {
			f := programForm("refused")
			for k, v := range c.set {
				f.Set(k, v)
			}
			want(t, c.name, manager.submit("/programs/new", "/programs", f), http.StatusUnprocessableEntity,
				append(c.want, "The program was not saved")...)
		}
		if _, err := program.Get(ctx, s.db, "refused"); !errors.Is(err, program.ErrNotFound) {
			t.Errorf("a refused program was stored: %v", err)
		}
		if p, _ := program.Get(ctx, s.db, demo.SeminarProgram); p.Name != "Reports seminar" {
			t.Errorf("the refused duplicate changed the seminar: %q", p.Name)
		}
	})

	t.Run("create, edit, delete", func(t *testing.T) {
		res := manager.submit("/programs/new", "/programs", programForm("integrations-call"))
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/programs/integrations-call?notice=Program+saved.") {
			t.Fatalf("create: %d %s %.400s", res.StatusCode, res.Header.Get("Location"), res.Body)
		}
		p, err := program.Get(ctx, s.db, "integrations-call")
		if err != nil {
			t.Fatal(err)
		}
		// post_days blank is the default 90, which the churn measure's blank days take.
		wantMeasures := []program.OutcomeMeasure{{Kind: "adoption", Feature: "integrations"}, {Kind: "churn", Days: 90}, {Kind: "health"}}
		if p.Name != "Integrations call" || p.Action != "call" || p.Start.Format(time.DateOnly) != "2026-06-01" || p.PreDays != 21 ||
			p.PostDays != 90 || !slices.Equal(p.Measures, wantMeasures) || p.CreatedBy != "manager@example.com" {
			t.Errorf("stored %+v", p)
		}
		if n := audited(t, s, "program", "integrations-call"); n != 1 {
			t.Errorf("%d audit entries after the creation", n)
		}
		want(t, "the program's page", manager.get("/programs/integrations-call"), http.StatusOK,
			`href="/programs/integrations-call/edit"`, `action="/programs/integrations-call/delete"`, "integrations adoption")

		want(t, "GET edit", manager.get("/programs/integrations-call/edit"), http.StatusOK,
			`name="pre_days" value="21"`, `<option value="integrations" selected>`, `name="m1.days" value="90"`, `<option value="call" selected>`)
		// A segment that is gone (the API does not check) stays chosen in the editor.
		gone := p
		gone.SegmentID = "retired-segment"
		if _, err := program.Update(ctx, s.db, gone, time.Now()); err != nil {
			t.Fatal(err)
		}
		want(t, "GET edit with a gone segment", manager.get("/programs/integrations-call/edit"), http.StatusOK,
			`<option value="retired-segment" selected>retired-segment</option>`)
		f := programForm("ignored")
		f.Set("name", "Integrations call, second round")
		f.Set("m3.kind", "expansion")
		f.Set("post_days", "60")
		f.Set("m2.days", "30")
		res = manager.submit("/programs/integrations-call/edit", "/programs/integrations-call", f)
		want(t, "update", res, http.StatusSeeOther)
		p, err = program.Get(ctx, s.db, "integrations-call")
		wantMeasures = []program.OutcomeMeasure{{Kind: "adoption", Feature: "integrations"}, {Kind: "churn", Days: 30}, {Kind: "expansion"}}
		if err != nil || p.Name != "Integrations call, second round" || p.PostDays != 60 || !slices.Equal(p.Measures, wantMeasures) {
			t.Errorf("after the update %+v (%v)", p, err)
		}
		f.Set("post_days", "1000")
		want(t, "a refused update", manager.submit("/programs/integrations-call/edit", "/programs/integrations-call", f),
			http.StatusUnprocessableEntity, "1000 is not between 1 and 730")
		if n := audited(t, s, "program", "integrations-call"); n != 2 {
			t.Errorf("%d audit entries after one update, want 2", n)
		}

		want(t, "delete", manager.submit("/programs/integrations-call", "/programs/integrations-call/delete", nil), http.StatusSeeOther)
		if _, err := program.Get(ctx, s.db, "integrations-call"); !errors.Is(err, program.ErrNotFound) {
			t.Errorf("after the delete: %v", err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'program' AND object_id = 'integrations-call' AND action = 'delete'`); n != 1 {
			t.Errorf("%d delete entries", n)
		}
		want(t, "edit a deleted program", manager.get("/programs/integrations-call/edit"), http.StatusNotFound, "There is no program integrations-call.")
	})
}

// TestProgramParticipantsFromFile: a CSV upload and the playbook's
// accounts, all or nothing, with the problem as the command line words it.
func TestProgramParticipantsFromFile(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	ctx := context.Background()
	csm := s.as(t, user.RoleCSM)
	all, err := account.List(ctx, s.db, account.ListOptions{Limit: 3})
	if err != nil || len(all) < 3 {
		t.Fatalf("%d accounts (%v)", len(all), err)
	}
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := program.Create(ctx, s.db, program.Program{ID: "upload", Name: "Upload", Action: "email", Start: start,
		Measures: []program.OutcomeMeasure{{Kind: "health"}}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	page := "/programs/upload"
	up := func(b *browser, name, content string) response {
		return b.upload(page+"/participants/import", b.csrf(page), nil, name, content)
	}
	want(t, "viewer", up(s.as(t, user.RoleViewer), "p.csv", "account_id\n"+all[0].ID+"\n"), http.StatusForbidden)
	for _, c := range []struct{ name, content, want string }{
		{"a bad date", "account_id,joined_date\n" + all[0].ID + ",2026-05-02\n" + all[1].ID + ",2026-13-01\n",
			`p.csv: file: line 3: joined_date "2026-13-01" is not a date (YYYY-MM-DD)`},
		{"no account_id column", "id\n" + all[0].ID + "\n", `p.csv: file: line 1: no account_id column (the header has id)`},
		{"an unknown account", "account_id\n" + all[0].ID + "\nghost\n", `participants[1].account_id: no account "ghost"`},
		{"a bad source", "account_id,source\n" + all[0].ID + ",fax\n", `participants[0].source: "fax" is not one of import, hand, playbook`},
	} {
		want(t, c.name, up(csm, "p.csv", c.content), http.StatusUnprocessableEntity, html.EscapeString(c.want), `id="file-error"`)
	}
	if p, _ := program.Get(ctx, s.db, "upload"); p.Participants != 0 {
		t.Fatalf("refused files added %d participants", p.Participants)
	}
	res := up(csm, "p.csv", "account_id,joined_date,source\n"+all[0].ID+",2026-05-03,\n"+all[1].ID+",,hand\n")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), url.QueryEscape("2 participants added.")) {
		t.Fatalf("import: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	parts, err := program.Participants(ctx, s.db, "upload")
	wantParts := []string{all[0].ID + " import 2026-05-03", all[1].ID + " hand 2026-05-01"}
	var got []string
	for _, p := range parts {
		got = append(got, p.AccountID+" "+p.Source+" "+p.Joined.Format(time.DateOnly))
	}
	slices.Sort(wantParts)
	if err != nil || !slices.Equal(got, wantParts) {
		t.Errorf("participants %v (%v), want %v", got, err, wantParts)
	}
	if n := audited(t, s, "program", "upload"); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}

	// Without a playbook there is no such form, and the request is refused.
	if strings.Contains(csm.get(page).Body, "/participants/playbook") {
		t.Error("a program without a playbook offers to add from it")
	}
	want(t, "from no playbook", csm.submit(page, page+"/participants/playbook", nil), http.StatusUnprocessableEntity,
		"playbook_id: the program names no playbook")

	// A playbook's acted-on accounts from its first firings on: the
	// program starts on the first day one was acted on.
	var pbID string
	var first int64
	if err := s.db.QueryRow(`SELECT playbook_id, MIN(fired_at) FROM enrollments WHERE holdout = 0 GROUP BY playbook_id ORDER BY COUNT(*) DESC LIMIT 1`).Scan(&pbID, &first); err != nil {
		t.Fatalf("the demo has no playbook firings: %v", err)
	}
	pbStart := time.Unix(first, 0).UTC().Truncate(24 * time.Hour)
	if _, err := program.Create(ctx, s.db, program.Program{ID: "from-pb", Name: "From the playbook", Action: "playbook", PlaybookID: pbID,
		Start: pbStart, PostDays: 730, Measures: []program.OutcomeMeasure{{Kind: "health"}}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var acted int
	if err := s.db.QueryRow(`SELECT COUNT(DISTINCT account_id) FROM enrollments WHERE holdout = 0 AND playbook_id = $1 AND fired_at >= $2 AND fired_at < $3`,
		pbID, pbStart.Unix(), pbStart.AddDate(0, 0, 730).Unix()).Scan(&acted); err != nil || acted == 0 {
		t.Fatalf("%d acted-on accounts (%v)", acted, err)
	}
	want(t, "the form", csm.get("/programs/from-pb"), http.StatusOK, `action="/programs/from-pb/participants/playbook"`)
	res = csm.submit("/programs/from-pb", "/programs/from-pb/participants/playbook", nil)
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), url.QueryEscape(fmt.Sprintf("%d participants added.", acted))) {
		t.Fatalf("from the playbook: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if p, _ := program.Get(ctx, s.db, "from-pb"); p.Participants != acted {
		t.Errorf("%d participants, want %d", p.Participants, acted)
	}
}
