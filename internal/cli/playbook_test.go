package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/task"
)

func TestPlaybookAndTaskCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	accounts := writeFile(t, dir, "accounts.csv", "account_id,name,owner_email\nA1,Acme,kei@example.com\n")
	if code, _, stderr := run(t, "import", "accounts", accounts, "--db", db); code != 0 {
		t.Fatal(stderr)
	}
	bad := writeFile(t, dir, "bad.json", `{"playbook_id": "renew", "name": "Renewal prep",
  "trigger": {"type": "rule", "condition": "days_to_renewal <= 90 && arr > 1000 && ar < 5"},
  "actions": [{"type": "task", "title": "Prepare {{.Account.Name}}"}]}`)
	code, _, stderr := run(t, "playbook", "validate", bad, "--db", db)
	if code != 1 || !strings.Contains(stderr, "bad.json: trigger.condition: line 1, column 40: unknown name ar") {
		t.Errorf("validate bad: %d %q", code, stderr)
	}
	if code, _, stderr := run(t, "playbook", "create", bad, "--db", db); code != 1 || !strings.Contains(stderr, "column 40") {
		t.Errorf("create bad: %d %q", code, stderr)
	}
	broken := writeFile(t, dir, "broken.json", "{\n  \"playbook_id\": \"x\",\n  \"name\": 5\n}")
	if code, _, stderr := run(t, "playbook", "validate", broken, "--db", db); code != 1 || !strings.Contains(stderr, "broken.json:3:") {
		t.Errorf("broken JSON: %d %q", code, stderr)
	}
	good := writeFile(t, dir, "good.json", `{"playbook_id": "renew", "name": "Renewal prep", "holdout_share": 0.1,
  "trigger": {"type": "renewal_in_days", "days": 90},
  "actions": [{"type": "task", "title": "Prepare {{.Account.Name}}", "due_in_days": 14},
              {"type": "webhook", "url": "https://x.example/h", "secret": "s3cret"}]}`)
	if code, out, stderr := run(t, "playbook", "validate", good, "--db", db); code != 0 || out != good+": valid\n" {
		t.Errorf("validate good: %d %q %q", code, out, stderr)
	}
	if code, out, stderr := run(t, "playbook", "create", good, "--db", db); code != 0 || out != "playbook renew created\n" {
		t.Errorf("create: %d %q %q", code, out, stderr)
	}
	code, out, _ := run(t, "playbook", "list", "--format", "json", "--db", db)
	var list []playbook.Playbook
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].HoldoutShare != 0.1 || !list[0].Enabled ||
		strings.Contains(out, "s3cret") {
		t.Errorf("list: %d %s", code, out)
	}
	if code, out, _ := run(t, "playbook", "show", "renew", "--db", db); code != 0 || !strings.Contains(out, `"secret": "********"`) {
		t.Errorf("show: %d %s", code, out)
	}

	// Fire it on A1, then finish the task from the command line.
	ctx := context.Background()
	sdb, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A firing time at which A1 is not drawn into the 10 % holdout.
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for playbook.Draw("renew", "A1", at) < 0.1 {
		at = at.Add(time.Second)
	}
	st, err := playbook.NewStage(ctx, sdb, playbook.Options{})
	if err == nil {
		err = st.Apply(ctx, sdb, at, []snapshot.Snapshot{{AccountID: "A1", Name: "Acme", Owner: "kei@example.com", DaysToRenewal: 60}})
	}
	sdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "task", "list", "--assignee", "kei@example.com", "--format", "json", "--db", db)
	var tasks []task.Task
	if code != 0 || json.Unmarshal([]byte(out), &tasks) != nil || len(tasks) != 1 {
		t.Fatalf("task list: %d %s", code, out)
	}
	if tasks[0].Title != "Prepare Acme" || tasks[0].Assignee != "kei@example.com" {
		t.Errorf("task %+v", tasks[0])
	}
	if code, _, stderr := run(t, "task", "done", tasks[0].ID, "--db", db); code != 2 || !strings.Contains(stderr, "--outcome") {
		t.Errorf("done without outcome: %d %q", code, stderr)
	}
	if code, out, _ := run(t, "task", "done", tasks[0].ID, "--outcome", "success", "--db", db); code != 0 || !strings.Contains(out, "done (success)") {
		t.Errorf("done: %d %q", code, out)
	}
	if code, out, _ := run(t, "task", "list", "--status", "done", "--db", db); code != 0 || !strings.Contains(out, "Prepare Acme") {
		t.Errorf("list done: %d %q", code, out)
	}
	if code, _, stderr := run(t, "task", "done", "t_nope", "--outcome", "success", "--db", db); code != 1 || !strings.Contains(stderr, `no task "t_nope"`) {
		t.Errorf("unknown task: %d %q", code, stderr)
	}
}
