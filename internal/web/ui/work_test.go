package ui_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/task"
	"github.com/kizuna-cs/kizuna/internal/user"
	"github.com/kizuna-cs/kizuna/internal/web/ui"
)

var queueRowRe = regexp.MustCompile(`<tr id="task-([^"]+)"`)

// queueIDs are the task ids of a queue page, in page order.
func queueIDs(body string) []string {
	var out []string
	for _, m := range queueRowRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// dbIDs runs a query of task ids.
func dbIDs(t *testing.T, db *store.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// auditCount counts the entries about one object.
func auditCount(t *testing.T, db *store.DB, actor, action, objectType, objectID string) int {
	t.Helper()
	es, err := audit.List(context.Background(), db, audit.Filter{Actor: actor, ObjectType: objectType, ObjectID: objectID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.Action == action {
			n++
		}
	}
	return n
}

func TestWorkQueue(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	const open = `status IN ('open', 'in_progress')`
	var demoCSM string // the demo's busiest CSM
	if err := s.db.QueryRow(`SELECT assignee FROM tasks WHERE ` + open + ` AND assignee IS NOT NULL
		GROUP BY assignee ORDER BY COUNT(*) DESC, assignee LIMIT 1`).Scan(&demoCSM); err != nil {
		t.Fatal(err)
	}
	// The test CSM gets two of the demo's playbook tasks and five made
	// here, so the queue has a known content; the busiest CSM keeps theirs.
	mine := dbIDs(t, s.db, `SELECT task_id FROM tasks WHERE assignee <> $1 AND `+open+` ORDER BY task_id`, demoCSM)
	if len(mine) < 2 {
		t.Fatalf("the demo has %d open tasks of other CSMs than %s, want 2", len(mine), demoCSM)
	}
	for _, id := range mine {
		if _, err := s.db.Exec(`UPDATE tasks SET assignee = 'csm@example.com' WHERE task_id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	// Two accounts in USD with different MRR now: tasks due the same day
	// list the larger account first, though it was created later.
	var big, small string
	const mrrNow = `SELECT account_id FROM subscription_periods WHERE currency = 'USD' AND start_at <= $1 AND (end_at IS NULL OR end_at > $1)
		GROUP BY account_id HAVING COUNT(DISTINCT currency) = 1 ORDER BY SUM(mrr_minor) `
	now := time.Now()
	if err := s.db.QueryRow(mrrNow+`DESC, account_id LIMIT 1`, now.Unix()).Scan(&big); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(mrrNow+`ASC, account_id LIMIT 1`, now.Unix()).Scan(&small); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) *time.Time {
		x := now.Add(d).UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
		return &x
	}
	made := []task.Task{
		{ID: "t_late", AccountID: small, Title: "Overdue call", Assignee: "csm@example.com", Status: task.InProgress, DueAt: at(-72 * time.Hour), CreatedAt: now.Add(-96 * time.Hour)},
		{ID: "t_small", AccountID: small, Title: "Small account review", Assignee: "csm@example.com", DueAt: at(72 * time.Hour), CreatedAt: now.Add(-2 * time.Hour)},
		{ID: "t_big", AccountID: big, Title: "Big account review", Assignee: "csm@example.com", DueAt: at(72 * time.Hour), CreatedAt: now.Add(-time.Hour)},
		{ID: "t_later", AccountID: big, Title: "Renewal prep", Assignee: "csm@example.com", DueAt: at(30 * 24 * time.Hour), CreatedAt: now},
		{ID: "t_nodue", AccountID: small, Title: "Someday", Assignee: "csm@example.com", CreatedAt: now},
		{ID: "t_done", AccountID: small, Title: "Finished", Assignee: "csm@example.com", Status: task.Done, Outcome: "success", CreatedAt: now},
		{ID: "t_other", AccountID: big, Title: "Not the CSM's", Assignee: "manager@example.com", CreatedAt: now},
	}
	if err := task.Insert(context.Background(), s.db, made); err != nil {
		t.Fatal(err)
	}
	mine = sorted(append(mine, "t_late", "t_small", "t_big", "t_later", "t_nodue"))
	csm, manager := s.as(t, user.RoleCSM), s.as(t, user.RoleManager)

	t.Run("exactly the CSM's open tasks, overdue first and marked", func(t *testing.T) {
		res := csm.get("/queue")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /queue = %d", res.StatusCode)
		}
		got := queueIDs(res.Body)
		if !slices.Equal(sorted(got), mine) {
			t.Fatalf("queue = %v, want the CSM's open tasks %v", got, mine)
		}
		// The demo's two tasks are due within days of demoDay, long past.
		if got[0] == "t_late" || got[len(got)-1] != "t_nodue" {
			t.Errorf("queue order %v: want the demo's older tasks first and the task without a due date last", got)
		}
		if i, j := slices.Index(got, "t_big"), slices.Index(got, "t_small"); i != j-1 || slices.Index(got, "t_late") > i {
			t.Errorf("queue order %v: want t_late, then t_big (larger ARR) just before t_small (same day)", got)
		}
		row := res.Body[strings.Index(res.Body, `id="task-t_late"`):]
		row = row[:strings.Index(row, "</tr>")]
		if !strings.Contains(row, `<strong class="work-late">Overdue</strong>`) {
			t.Errorf("the overdue row does not say so in text: %s", row)
		}
		if !strings.Contains(row, "Overdue call") || !strings.Contains(row, "In progress") {
			t.Errorf("the row lacks the title or state: %s", row)
		}
		// A playbook's task names the playbook and the account's band.
		demoTask := got[0]
		var pbID, band string
		if err := s.db.QueryRow(`SELECT playbook_id FROM tasks WHERE task_id = $1`, demoTask).Scan(&pbID); err != nil {
			t.Fatal(err)
		}
		pb, err := playbook.Get(context.Background(), s.db, pbID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.db.QueryRow(`SELECT h.band FROM health_current h JOIN tasks t ON t.account_id = h.account_id WHERE t.task_id = $1`, demoTask).Scan(&band); err != nil {
			t.Fatal(err)
		}
		row = res.Body[strings.Index(res.Body, `id="task-`+demoTask+`"`):]
		row = row[:strings.Index(row, "</tr>")]
		if !strings.Contains(row, html.EscapeString(pb.Name)) || !strings.Contains(row, `class="tag band-`+band+`"`) {
			t.Errorf("the row of %s lacks playbook %q or band %s: %s", demoTask, pb.Name, band, row)
		}
	})

	t.Run("sorted by due day, then ARR", func(t *testing.T) {
		res := manager.get("/queue?assignee=" + url.QueryEscape(demoCSM))
		got := queueIDs(res.Body)
		want := dbIDs(t, s.db, `SELECT task_id FROM tasks WHERE assignee = $1 AND `+open, demoCSM)
		if !slices.Equal(sorted(got), sorted(want)) || len(got) == 0 {
			t.Fatalf("%s's queue has %d tasks, the database %d", demoCSM, len(got), len(want))
		}
		var last int64 = -1
		for _, id := range got {
			var due *int64
			if err := s.db.QueryRow(`SELECT due_at FROM tasks WHERE task_id = $1`, id).Scan(&due); err != nil {
				t.Fatal(err)
			}
			day := int64(1 << 62)
			if due != nil {
				day = *due / 86400
			}
			if day < last {
				t.Fatalf("task %s is due on day %d, after a task due on day %d", id, day, last)
			}
			last = day
		}
	})

	t.Run("filters", func(t *testing.T) {
		var pb string
		if err := s.db.QueryRow(`SELECT playbook_id FROM tasks WHERE assignee = $1 AND `+open+` AND playbook_id IS NOT NULL LIMIT 1`, demoCSM).Scan(&pb); err != nil {
			t.Fatal(err)
		}
		week := time.Now().AddDate(0, 0, 7).Unix()
		for _, tc := range []struct {
			who         *browser
			path, query string
			args        []any
		}{
			{csm, "/queue?state=in_progress", `assignee = 'csm@example.com' AND status = 'in_progress'`, nil},
			{csm, "/queue?state=open", `assignee = 'csm@example.com' AND status = 'open'`, nil},
			{csm, "/queue?due=overdue", `assignee = 'csm@example.com' AND ` + open + ` AND due_at < $1`, []any{time.Now().Unix()}},
			{csm, "/queue?due=week", `assignee = 'csm@example.com' AND ` + open + ` AND due_at < $1`, []any{week}},
			{manager, "/queue?assignee=*&playbook=" + pb, open + ` AND playbook_id = $1`, []any{pb}},
			{manager, "/queue?assignee=" + url.QueryEscape(demoCSM) + "&playbook=" + pb, open + ` AND assignee = $1 AND playbook_id = $2`, []any{demoCSM, pb}},
		} {
			want := dbIDs(t, s.db, `SELECT task_id FROM tasks WHERE `+tc.query, tc.args...)
			got := queueIDs(tc.who.get(tc.path).Body)
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("%s: %d tasks %v, want %d %v", tc.path, len(got), got, len(want), want)
			}
		}
	})

	t.Run("who may see which queue", func(t *testing.T) {
		for _, tc := range []struct {
			who  *browser
			path string
			want int
		}{
			{csm, "/queue?assignee=" + url.QueryEscape(demoCSM), http.StatusForbidden},
			{csm, "/queue?assignee=*", http.StatusForbidden},
			{s.as(t, user.RoleViewer), "/queue", http.StatusForbidden},
			{manager, "/queue?assignee=*", http.StatusOK},
			{csm, "/queue?due=tomorrow", http.StatusBadRequest},
		} {
			if got := tc.who.get(tc.path).StatusCode; got != tc.want {
				t.Errorf("GET %s = %d, want %d", tc.path, got, tc.want)
			}
		}
	})

	t.Run("state changes are recorded and audited", func(t *testing.T) {
		id := "t_small"
		res := csm.submit("/queue", "/tasks/"+id, url.Values{"status": {"in_progress"}, "next": {"/queue"}})
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/queue?notice=") {
			t.Fatalf("start = %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res = csm.submit("/queue", "/tasks/"+id, url.Values{"status": {"done"}, "next": {"/queue"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Choose an outcome to mark the task done.") {
			t.Fatalf("done without an outcome = %d", res.StatusCode)
		}
		res = csm.submit("/queue", "/tasks/"+id, url.Values{"status": {"done"}, "outcome": {"success"}, "next": {"/queue"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("done = %d: %s", res.StatusCode, res.Body)
		}
		var status, outcome string
		var completed *int64
		if err := s.db.QueryRow(`SELECT status, outcome, completed_at FROM tasks WHERE task_id = $1`, id).Scan(&status, &outcome, &completed); err != nil {
			t.Fatal(err)
		}
		if status != "done" || outcome != "success" || completed == nil {
			t.Errorf("task after done: %s %s %v", status, outcome, completed)
		}
		if n := auditCount(t, s.db, "user:csm@example.com", audit.ActionUpdate, "task", id); n != 2 {
			t.Errorf("%d audit entries for the task, want 2 (in progress, done)", n)
		}
		if slices.Contains(queueIDs(csm.get("/queue").Body), id) {
			t.Error("the done task is still in the queue")
		}
		// Done is final.
		res = csm.submit("/queue", "/tasks/"+id, url.Values{"status": {"open"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "already finished") {
			t.Errorf("reopen a done task = %d", res.StatusCode)
		}
	})

	t.Run("a CSM cannot change another's task; a manager can", func(t *testing.T) {
		var other string
		if err := s.db.QueryRow(`SELECT task_id FROM tasks WHERE assignee = $1 AND status = 'open' LIMIT 1`, demoCSM).Scan(&other); err != nil {
			t.Fatal(err)
		}
		res := csm.submit("/queue", "/tasks/"+other, url.Values{"status": {"cancelled"}, "outcome": {"not_needed"}})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("CSM changes another's task = %d", res.StatusCode)
		}
		var status string
		s.db.QueryRow(`SELECT status FROM tasks WHERE task_id = $1`, other).Scan(&status)
		if status != "open" || auditCount(t, s.db, "", audit.ActionUpdate, "task", other) != 0 {
			t.Errorf("after a refused change the task is %s", status)
		}
		res = manager.submit("/queue", "/tasks/"+other, url.Values{"status": {"cancelled"}, "outcome": {"not_needed"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("manager dismisses a task = %d", res.StatusCode)
		}
		if n := auditCount(t, s.db, "user:manager@example.com", audit.ActionUpdate, "task", other); n != 1 {
			t.Errorf("%d audit entries by the manager, want 1", n)
		}
		if got := csm.get("/tasks/" + other); got.StatusCode != http.StatusOK || !strings.Contains(got.Body, "Dismissed") {
			t.Errorf("task page = %d", got.StatusCode)
		}
	})
}

// upload posts the import form as a browser does: multipart, with the
// page's CSRF token when csrf is "", none when it is "-".
func upload(t *testing.T, b *browser, csrf string, fields map[string]string, name, content string) response {
	t.Helper()
	switch csrf {
	case "":
		csrf = b.csrf("/import")
	case "-":
		csrf = ""
	}
	return b.upload("/import", csrf, fields, name, content)
}

// importResult follows an upload to its result page, waiting while the
// import runs.
func importResult(t *testing.T, b *browser, res response) string {
	t.Helper()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/import/imp_") {
		t.Fatalf("upload = %d %s: %s", res.StatusCode, loc, res.Body)
	}
	for range 300 {
		page := b.get(loc)
		if page.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", loc, page.StatusCode)
		}
		if !strings.Contains(page.Body, "Importing…") {
			return html.UnescapeString(page.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the import at %s did not finish", loc)
	return ""
}

func TestImportPage(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	manager := s.as(t, user.RoleManager)
	count := func() int {
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("a good file imports its rows", func(t *testing.T) {
		page := importResult(t, manager, upload(t, manager, "", map[string]string{"kind": "accounts", "mode": "import"},
			"good.csv", "account_id,name,signup_at\nA1,Acme,2026-01-05\nA2,Beta,\n"))
		if !strings.Contains(page, "Imported: 2 rows read, 2 new, 0 updated, 0 unchanged, 0 invalid.") {
			t.Fatalf("result page: %s", page)
		}
		if n := count(); n != 2 {
			t.Errorf("%d accounts, want 2", n)
		}
		if n := auditCount(t, s.db, "user:manager@example.com", audit.ActionImport, "import", "accounts"); n != 1 {
			t.Errorf("%d import audit entries, want 1", n)
		}
	})

	t.Run("with a column mapping", func(t *testing.T) {
		page := importResult(t, manager, upload(t, manager, "", map[string]string{"kind": "accounts", "mode": "import", "map": "id=account_id\nlegacy="},
			"mapped.csv", "id,name,legacy\nA2,Beta,x\nA3,Gamma,y\n"))
		if !strings.Contains(page, "Imported: 2 rows read, 1 new, 0 updated, 1 unchanged, 0 invalid.") {
			t.Fatalf("result page: %s", page)
		}
		if n := count(); n != 3 {
			t.Errorf("%d accounts, want 3", n)
		}
	})

	t.Run("a bad file shows FILE:LINE: column: reason and imports nothing", func(t *testing.T) {
		page := importResult(t, manager, upload(t, manager, "", map[string]string{"kind": "accounts", "mode": "import"},
			"name.csv", "account_id,name,signup_at\nB1,Bad One,2026-01-05\nB2,Bad Two,yesterday\nB3,Bad Three,\n"))
		want := `name.csv:3: signup_at: "yesterday" is not a date (want YYYY-MM-DD or a date-time with offset such as 2024-05-01T09:30:00+09:00)`
		if !strings.Contains(page, want) || !strings.Contains(page, "Rejected, nothing written: 1 of 3 rows are invalid.") {
			t.Fatalf("result page lacks %q: %s", want, page)
		}
		if n := count(); n != 3 {
			t.Errorf("%d accounts after a rejected file, want still 3", n)
		}
	})

	t.Run("more than 100 errors: the first 100 and a count", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("account_id,name,signup_at\n")
		for i := range 130 {
			fmt.Fprintf(&b, "M%d,Many,not-a-date\n", i)
		}
		page := importResult(t, manager, upload(t, manager, "", map[string]string{"kind": "accounts"}, "many.csv", b.String()))
		if !strings.Contains(page, "many.csv:101: signup_at:") || strings.Contains(page, "many.csv:102: signup_at:") ||
			!strings.Contains(page, "… and 30 more errors") {
			t.Errorf("the page does not list the first 100 errors and count 30 more")
		}
	})

	t.Run("check only writes nothing", func(t *testing.T) {
		page := importResult(t, manager, upload(t, manager, "", map[string]string{"kind": "accounts", "mode": "check"},
			"check.csv", "account_id,name\nC1,Check One\nA1,Acme Renamed\n"))
		if !strings.Contains(page, "Check only, nothing written: all 2 rows are valid (1 would be new, 1 updated, 0 unchanged).") {
			t.Fatalf("check page: %s", page)
		}
		if n := count(); n != 3 {
			t.Errorf("%d accounts after a check, want 3", n)
		}
	})

	t.Run("form problems and refusals", func(t *testing.T) {
		res := upload(t, manager, "", map[string]string{"kind": "planets"}, "x.csv", "a\n1\n")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Choose what the file holds.") {
			t.Errorf("unknown kind = %d", res.StatusCode)
		}
		res = upload(t, manager, "", map[string]string{"kind": "accounts", "map": "id"}, "x.csv", "a\n1\n")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(res.Body), `"id" is not SRC=DST.`) {
			t.Errorf("bad mapping = %d", res.StatusCode)
		}
		res = upload(t, manager, "-", map[string]string{"kind": "accounts"}, "x.csv", "account_id\nZ1\n")
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("upload without the CSRF token = %d", res.StatusCode)
		}
		csm := s.as(t, user.RoleCSM)
		res = upload(t, csm, manager.csrf("/import"), map[string]string{"kind": "accounts"}, "x.csv", "account_id\nZ1\n")
		if res.StatusCode != http.StatusForbidden || csm.get("/import").StatusCode != http.StatusForbidden {
			t.Errorf("a CSM may import: %d", res.StatusCode)
		}
		if n := count(); n != 3 {
			t.Errorf("%d accounts after refused uploads, want 3", n)
		}
		if res := manager.get("/import/imp_0000"); res.StatusCode != http.StatusNotFound || !strings.Contains(res.Body, "upload the file again") {
			t.Errorf("unknown import = %d", res.StatusCode)
		}
	})

	t.Run("an upload over the limit is refused clearly", func(t *testing.T) {
		defer ui.SetMaxUpload(1 << 20)()
		big := "account_id,name\n" + strings.Repeat("X1,"+strings.Repeat("x", 100)+"\n", 12000) // 1.2 MiB
		res := upload(t, manager, "", map[string]string{"kind": "accounts"}, "big.csv", big)
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(res.Body, "The file is larger than 1 MiB; nothing was imported.") {
			t.Errorf("over-limit upload = %d: %s", res.StatusCode, res.Body)
		}
		if n := count(); n != 3 {
			t.Errorf("%d accounts after an over-limit upload, want 3", n)
		}
	})
}

func TestSettingsPage(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	ctx := context.Background()
	admin, manager := s.as(t, user.RoleAdmin), s.as(t, user.RoleManager)
	setting := func(key string) string {
		v, err := store.Setting(ctx, s.db, key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("admin only", func(t *testing.T) {
		for _, path := range []string{"/settings", "/settings/audit"} {
			if got := manager.get(path).StatusCode; got != http.StatusForbidden {
				t.Errorf("manager GET %s = %d, want 403", path, got)
			}
		}
		res := manager.submit("/me", "/settings/currency", url.Values{"currency": {"EUR"}})
		if res.StatusCode != http.StatusForbidden || setting("reporting_currency") != "USD" {
			t.Errorf("manager POST /settings/currency = %d, currency %s", res.StatusCode, setting("reporting_currency"))
		}
		if got := admin.get("/settings").StatusCode; got != http.StatusOK {
			t.Errorf("admin GET /settings = %d", got)
		}
	})

	t.Run("forms validate", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			form url.Values
			want string
		}{
			{"/settings/currency", url.Values{"currency": {"EURO"}}, `"EURO" is not an ISO 4217 currency code (such as USD, EUR, JPY).`},
			{"/settings/currency", url.Values{"currency": {"QQQ"}}, `"QQQ" is not an ISO 4217 currency code`},
			{"/settings/fx", url.Values{"fx_currency": {"JPY"}, "fx_from": {"2026-01-01"}, "fx_rate": {"-0.0067"}}, "rate: want a positive number"},
			{"/settings/fx", url.Values{"fx_currency": {"JPY"}, "fx_from": {"2026-01-01"}, "fx_rate": {"0"}}, "rate: want a positive number"},
			{"/settings/fx", url.Values{"fx_currency": {"JPY"}, "fx_from": {"1 Jan"}, "fx_rate": {"0.0067"}}, "from: want a date (YYYY-MM-DD)."},
			{"/settings/fx", url.Values{"fx_currency": {"YEN"}, "fx_from": {"2026-01-01"}, "fx_rate": {"0.0067"}}, `"YEN" is not an ISO 4217 currency code`},
			{"/settings/users", url.Values{"email": {"not-an-email"}, "role": {"csm"}}, `email: "not-an-email" is not an email address.`},
			{"/settings/users", url.Values{"email": {"new@example.com"}, "role": {"owner"}}, "Choose a role."},
			{"/settings/users", url.Values{"email": {"new@example.com"}, "role": {"csm"}, "password": {"short"}}, "password: at least 10 characters"},
			{"/settings/users", url.Values{"email": {"csm@example.com"}, "role": {"csm"}}, "A user with this email exists."},
			{"/settings/keys", url.Values{"name": {""}, "scope": {"read"}}, "name: say what will use the key."},
			{"/settings/keys", url.Values{"name": {"x"}, "scope": {"admin"}}, "Choose a scope: read, write or ingest."},
			{"/settings/features", url.Values{"op": {"add"}, "feature": {"a,b"}}, "feature: want one event name, without commas."},
			{"/settings/values", url.Values{"key": {"churn.retrain_days"}, "value": {"weekly"}}, "Not saved: bad churn setting"},
		} {
			res := admin.submit("/settings", tc.path, tc.form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(res.Body), tc.want) {
				t.Errorf("POST %s %v = %d, want 422 with %q", tc.path, tc.form, res.StatusCode, tc.want)
			}
		}
		var rates, users, keys int
		s.db.QueryRow(`SELECT COUNT(*) FROM fx_rates`).Scan(&rates)
		s.db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&users)
		s.db.QueryRow(`SELECT COUNT(*) FROM api_keys`).Scan(&keys)
		if rates != 0 || users != 4 || keys != 0 || setting("reporting_currency") != "USD" || setting("churn.retrain_days") != "" {
			t.Errorf("refused forms changed something: %d rates, %d users, %d keys", rates, users, keys)
		}
	})

	t.Run("currency, rates, features and settings are saved and audited", func(t *testing.T) {
		steps := []struct {
			path       string
			form       url.Values
			objectType string
			objectID   string
		}{
			{"/settings/currency", url.Values{"currency": {"eur"}}, "setting", "reporting_currency"},
			{"/settings/fx", url.Values{"fx_currency": {"jpy"}, "fx_from": {"2026-01-01"}, "fx_rate": {"0.0061"}}, "fx_rate", "JPY/2026-01-01"},
			{"/settings/fx", url.Values{"fx_currency": {"JPY"}, "fx_from": {"2026-01-01"}, "fx_rate": {"0.0062"}}, "fx_rate", "JPY/2026-01-01"},
			{"/settings/features", url.Values{"op": {"add"}, "feature": {"report_export"}}, "setting", "key_features"},
			{"/settings/features", url.Values{"op": {"add"}, "feature": {"dashboard_share"}}, "setting", "key_features"},
			{"/settings/values", url.Values{"key": {"churn.retrain_days"}, "value": {"14"}}, "setting", "churn.retrain_days"},
		}
		for _, st := range steps {
			if res := admin.submit("/settings", st.path, st.form); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("POST %s %v = %d: %s", st.path, st.form, res.StatusCode, res.Body)
			}
		}
		var rate float64
		if err := s.db.QueryRow(`SELECT rate FROM fx_rates WHERE currency = 'JPY'`).Scan(&rate); err != nil || rate != 0.0062 {
			t.Errorf("JPY rate = %v, %v; want 0.0062 (edited)", rate, err)
		}
		if got := setting("reporting_currency"); got != "EUR" {
			t.Errorf("reporting currency = %s", got)
		}
		if got := setting("key_features"); got != "report_export,dashboard_share" {
			t.Errorf("key features = %q", got)
		}
		if got := setting("churn.retrain_days"); got != "14" {
			t.Errorf("churn.retrain_days = %q", got)
		}
		for _, want := range []struct {
			objectType, objectID string
			n                    int
		}{{"setting", "reporting_currency", 1}, {"fx_rate", "JPY/2026-01-01", 2}, {"setting", "key_features", 2}, {"setting", "churn.retrain_days", 1}} {
			if n := auditCount(t, s.db, "user:admin@example.com", audit.ActionUpdate, want.objectType, want.objectID); n != want.n {
				t.Errorf("%d audit entries for %s %s, want %d", n, want.objectType, want.objectID, want.n)
			}
		}
		// Removing every feature restores the default; an empty value unsets a setting.
		for _, f := range []string{"report_export", "dashboard_share"} {
			admin.submit("/settings", "/settings/features", url.Values{"op": {"remove"}, "feature": {f}})
		}
		admin.submit("/settings", "/settings/values", url.Values{"key": {"churn.retrain_days"}, "value": {""}})
		if setting("key_features") != "" || setting("churn.retrain_days") != "" {
			t.Errorf("after removal: key_features %q, churn.retrain_days %q", setting("key_features"), setting("churn.retrain_days"))
		}
		page := admin.get("/settings").Body
		if !strings.Contains(page, "Not set: every event but the login and setup events counts.") || !strings.Contains(page, "0.0062") {
			t.Errorf("the settings page does not show the default features or the JPY rate")
		}
	})

	t.Run("users: create, change role, delete, keep the last admin", func(t *testing.T) {
		res := admin.submit("/settings", "/settings/users", url.Values{"email": {"Nao@Example.com"}, "name": {"Nao"}, "role": {"csm"}})
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "Initial password") {
			t.Fatalf("create with an initial password = %d", res.StatusCode)
		}
		m := regexp.MustCompile(`id="secret" class="work-secret-value" autocomplete="off" spellcheck="false"`).FindString(res.Body)
		pw := regexp.MustCompile(`readonly value="([a-z2-7]{20})"`).FindStringSubmatch(res.Body)
		if m == "" || pw == nil {
			t.Fatalf("no initial password on the page: %s", res.Body)
		}
		nao, err := user.Authenticate(ctx, s.db, "nao@example.com", pw[1])
		if err != nil || nao.Role != user.RoleCSM {
			t.Fatalf("sign in with the initial password: %+v, %v", nao, err)
		}
		if strings.Contains(admin.get("/settings").Body, pw[1]) {
			t.Error("the settings page shows the initial password again")
		}
		res = admin.submit("/settings", "/settings/users/"+nao.ID+"/role", url.Values{"role": {"manager"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("change role = %d", res.StatusCode)
		}
		if u, _ := user.Get(ctx, s.db, nao.ID); u.Role != user.RoleManager {
			t.Errorf("Nao's role = %s", u.Role)
		}
		me, _ := user.GetByEmail(ctx, s.db, "admin@example.com")
		res = admin.submit("/settings", "/settings/users/"+me.ID+"/role", url.Values{"role": {"viewer"}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "This is the last admin: make another user admin first.") {
			t.Errorf("demote the last admin = %d", res.StatusCode)
		}
		res = admin.submit("/settings", "/settings/users/"+me.ID+"/delete", nil)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "You cannot delete yourself") {
			t.Errorf("delete yourself = %d", res.StatusCode)
		}
		if u, _ := user.Get(ctx, s.db, me.ID); u.Role != user.RoleAdmin {
			t.Errorf("the last admin is now %s", u.Role)
		}
		res = admin.submit("/settings", "/settings/users/"+nao.ID+"/delete", nil)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete Nao = %d", res.StatusCode)
		}
		if _, err := user.Get(ctx, s.db, nao.ID); err == nil {
			t.Error("Nao still exists")
		}
		for _, a := range []string{audit.ActionCreate, audit.ActionUpdate, audit.ActionDelete} {
			if n := auditCount(t, s.db, "user:admin@example.com", a, "user", nao.ID); n != 1 {
				t.Errorf("%d %s audit entries for Nao, want 1", n, a)
			}
		}
	})

	t.Run("an API key works once created, its secret is shown once, revoking stops it", func(t *testing.T) {
		res := admin.submit("/settings", "/settings/keys", url.Values{"name": {"nightly sync"}, "scope": {"read"}})
		m := regexp.MustCompile(`readonly value="(kz_[a-z2-7]+)"`).FindStringSubmatch(res.Body)
		if res.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("create key = %d, no secret on the page", res.StatusCode)
		}
		secret := m[1]
		api := func() int {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/accounts?limit=1", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			return r.StatusCode
		}
		if got := api(); got != http.StatusOK {
			t.Fatalf("GET /api/v1/accounts with the new key = %d", got)
		}
		page := admin.get("/settings").Body
		if strings.Contains(page, secret) || !strings.Contains(page, secret[:11]+"…") || !strings.Contains(page, "nightly sync") {
			t.Errorf("the settings page shows the secret again, or not the key's prefix")
		}
		var keyID string
		s.db.QueryRow(`SELECT key_id FROM api_keys`).Scan(&keyID)
		if res := admin.submit("/settings", "/settings/keys/"+keyID+"/revoke", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("revoke = %d", res.StatusCode)
		}
		if got := api(); got != http.StatusUnauthorized {
			t.Errorf("GET with the revoked key = %d, want 401", got)
		}
		if auditCount(t, s.db, "user:admin@example.com", audit.ActionCreate, "api_key", keyID) != 1 ||
			auditCount(t, s.db, "user:admin@example.com", audit.ActionRevoke, "api_key", keyID) != 1 {
			t.Error("the key's creation and revocation are not both in the audit log")
		}
	})

	t.Run("the audit log is readable, 50 a page", func(t *testing.T) {
		for i := range 60 {
			if err := audit.Record(ctx, s.db, "cli:test", audit.ActionUpdate, "probe", fmt.Sprintf("p%02d", i), nil, map[string]int{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
		rowRe := regexp.MustCompile(`probe <code>(p\d\d)</code>`)
		first := admin.get("/settings/audit?object_type=probe")
		ids := rowRe.FindAllStringSubmatch(first.Body, -1)
		if len(ids) != 50 || ids[0][1] != "p59" || ids[49][1] != "p10" {
			t.Fatalf("first page: %d entries", len(ids))
		}
		next := regexp.MustCompile(`href="(\?[^"]*after=au_[^"]+)">Older`).FindStringSubmatch(first.Body)
		if next == nil {
			t.Fatal("no link to the older entries")
		}
		second := admin.get("/settings/audit" + html.UnescapeString(next[1]))
		ids = rowRe.FindAllStringSubmatch(second.Body, -1)
		if len(ids) != 10 || ids[0][1] != "p09" || ids[9][1] != "p00" || strings.Contains(second.Body, ">Older<") {
			t.Errorf("second page: %d entries", len(ids))
		}
		if got := admin.get("/settings/audit?after=nope").StatusCode; got != http.StatusBadRequest {
			t.Errorf("a bad cursor = %d", got)
		}
	})
}

func TestImportProgressPage(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	manager := s.as(t, user.RoleManager)
	finish := ui.AddRunningImport("imp_test_running", "big-events.csv", 4000, 1234, 1000)
	res := manager.get("/import/imp_test_running")
	body := html.UnescapeString(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Importing… 1,234 rows read so far (25% of the file).") ||
		!strings.Contains(body, `<meta http-equiv="refresh" content="2">`) {
		t.Fatalf("progress page = %d: %s", res.StatusCode, body)
	}
	finish()
	if strings.Contains(manager.get("/import/imp_test_running").Body, "http-equiv") {
		t.Error("a finished import's page still refreshes")
	}
}

func TestWorkPagesInJapanese(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	for _, tc := range []struct{ role, path, want string }{
		{user.RoleCSM, "/queue", "<h1>マイタスク</h1>"},
		{user.RoleManager, "/import", "<h1>CSV ファイルのインポート</h1>"},
		{user.RoleAdmin, "/settings", "<h2>ユーザーとロール</h2>"},
		{user.RoleAdmin, "/settings/audit", "<h1>監査ログ</h1>"},
	} {
		b := s.as(t, tc.role)
		b.submit("/me", "/me/language", url.Values{"language": {"ja"}, "next": {"/me"}})
		res := b.get(tc.path)
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, tc.want) {
			t.Errorf("%s in Japanese = %d, want %s", tc.path, res.StatusCode, tc.want)
		}
	}
}
