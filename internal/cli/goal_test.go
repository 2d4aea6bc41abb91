package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/goal"
)

func TestGoalCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	accounts := writeFile(t, dir, "accounts.csv", "account_id,name\nA1,Acme\n")
	subs := writeFile(t, dir, "subs.csv", "subscription_id,account_id,start_date,mrr\nS1,A1,2024-01-01,100\n")
	for _, f := range [][]string{{"accounts", accounts}, {"subscriptions", subs}} {
		if code, _, stderr := run(t, "import", f[0], f[1], "--db", db); code != 0 {
			t.Fatal(stderr)
		}
	}
	t.Setenv("KIZUNA_PASSWORD", "correct horse battery")
	if code, _, errs := run(t, "user", "create", "ann@example.com", "--role", "manager", "--db", db); code != 0 {
		t.Fatal(errs)
	}

	// MRR has been 100 at every month-end since 2024: flat, so 150 is off track.
	code, stdout, stderr := run(t, "goal", "set", "mrr-2030", "--name", "Grow MRR", "--metric", "mrr", "--target", "150",
		"--deadline", "2030-12-31", "--owner", "Ann@Example.com", "--db", db)
	if code != 0 || stdout != "goal mrr-2030 created: mrr ≥ 150 by 2030-12-31\n" {
		t.Fatalf("set: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "goal", "set", "churn", "--name", "Keep churn low", "--metric", "churn_rate", "--target", "0.02",
		"--deadline", "2030-06-30", "--owner", "ann@example.com", "--parent", "mrr-2030", "--db", db)
	if code != 0 || stdout != "goal churn created: logo_churn_rate ≤ 2.0% by 2030-06-30\n" {
		t.Fatalf("set child: %d %q %q", code, stdout, stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"goal", "set", "x", "--name", "X", "--metric", "revenue", "--target", "1", "--deadline", "2030-01-01", "--owner", "ann@example.com"},
			1, `--metric: unknown metric "revenue": use one of mrr, arr,`},
		{[]string{"goal", "set", "x", "--name", "X", "--metric", "mrr", "--target", "1", "--deadline", "2030-01-01", "--owner", "bob@example.com"},
			1, "--owner: no user bob@example.com"},
		{[]string{"goal", "set", "x", "--name", "X", "--metric", "mrr", "--deadline", "2030-01-01", "--owner", "ann@example.com"},
			1, "--target: required for a new goal"},
		{[]string{"goal", "set", "x", "--name", "X", "--metric", "mrr", "--target", "lots", "--deadline", "2030-01-01", "--owner", "ann@example.com"},
			1, `--target: "lots" is not a number`},
		{[]string{"goal", "set", "mrr-2030", "--deadline", "2030-01-31"}, 1, `--deadline: child goal "churn" is due after 2030-01-31`},
		{[]string{"goal", "set", "x", "--direction", "up"}, 2, "--direction"},
		{[]string{"goal", "show", "ghost"}, 1, `goal "ghost": goal not found`},
		{[]string{"goal", "delete", "mrr-2030"}, 1, "the goal has child goals (churn)"},
	} {
		code, _, stderr := run(t, append(tc.args, "--db", db)...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("%v: %d %q, want %d …%s…", tc.args, code, stderr, tc.code, tc.err)
		}
	}

	code, stdout, _ = run(t, "goal", "list", "--db", db)
	if code != 0 || !strings.Contains(stdout, "mrr-2030                     off_track mrr                    ≥ 150 by 2030-12-31  latest 100  progress 0%  forecast 100  Grow MRR\n") ||
		!strings.Contains(stdout, "  churn                      achieved  logo_churn_rate        ≤ 2.0% by 2030-06-30  latest 0.0%") ||
		!strings.HasSuffix(stdout, "2 goals\n") {
		t.Errorf("list: %d %q", code, stdout)
	}
	code, stdout, _ = run(t, "goal", "show", "mrr-2030", "--db", db)
	if code != 0 || !strings.Contains(stdout, "status:    off_track\nbaseline:  100\n") || !strings.Contains(stdout, "trend:     0 a month over 6 month-ends") ||
		!strings.Contains(stdout, "child:     churn achieved") {
		t.Errorf("show: %d %q", code, stdout)
	}
	code, stdout, _ = run(t, "goal", "show", "mrr-2030", "--format", "json", "--db", db)
	var shown goal.TrackedGoal
	if err := json.Unmarshal([]byte(stdout), &shown); code != 0 || err != nil || shown.Tracking.Status != goal.StatusOffTrack ||
		len(shown.Tracking.Actuals) != 6 || len(shown.Children) != 1 {
		t.Errorf("show json: %d %v %+v", code, err, shown)
	}
	code, stdout, stderr = run(t, "goal", "set", "mrr-2030", "--target", "90", "--db", db)
	if code != 0 || stdout != "goal mrr-2030 updated: mrr ≥ 90 by 2030-12-31\n" {
		t.Errorf("update: %d %q %q", code, stdout, stderr)
	}
	for _, id := range []string{"churn", "mrr-2030"} {
		if code, stdout, stderr := run(t, "goal", "delete", id, "--db", db); code != 0 || stdout != "goal "+id+" deleted\n" {
			t.Errorf("delete %s: %d %q %q", id, code, stdout, stderr)
		}
	}
}
