package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHealthCommands(t *testing.T) {
	dir, db := importCSV(t, [2]string{"accounts", "account_id,name,segment\nA1,Acme,smb\nA2,Beta,enterprise\n"},
		[2]string{"subscriptions", "subscription_id,account_id,start_date,mrr\nS1,A1,2024-01-01,100\n"})
	// MRR of 100 or more scores 100 (green); less scores 0 (red).
	models := `{"models": [{"id": "default", "measures": [{"name": "MRR", "field": "mrr", "weight": 1,
		"thresholds": [{"min": 0, "score": 0}, {"min": 100, "score": 100}]}]}]}`
	bad := writeFile(t, dir, "bad.json", strings.Replace(models, `"field": "mrr"`, `"field": "mrr +"`, 1))
	if code, _, stderr := run(t, "health", "models", "import", bad, "--db", db); code != 1 || !strings.Contains(stderr, `model "default": measure "MRR": field: line 1`) {
		t.Errorf("bad import: %d %q", code, stderr)
	}
	good := writeFile(t, dir, "models.json", models)
	if code, out, stderr := run(t, "health", "models", "import", good, "--db", db); code != 0 || out != "imported 1 health models\n" {
		t.Fatalf("import: %d %q %q", code, out, stderr)
	}
	exported := filepath.Join(dir, "out.json")
	if code, _, stderr := run(t, "health", "models", "export", exported, "--db", db); code != 0 {
		t.Fatal(stderr)
	}
	b, err := os.ReadFile(exported)
	var f struct {
		Models []struct {
			ID    string `json:"id"`
			Bands struct {
				RedBelow float64 `json:"red_below"`
			} `json:"bands"`
		} `json:"models"`
	}
	if err != nil || json.Unmarshal(b, &f) != nil || len(f.Models) != 1 || f.Models[0].ID != "default" || f.Models[0].Bands.RedBelow != 40 {
		t.Errorf("export: %v %s", err, b)
	}
	code, out, stderr := run(t, "health", "recompute", "--at", "2024-06-01", "--format", "json", "--db", db)
	var res struct {
		Accounts int            `json:"accounts"`
		Bands    map[string]int `json:"bands"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Accounts != 2 || res.Bands["green"] != 1 || res.Bands["red"] != 1 {
		t.Errorf("recompute: %d %s %s", code, out, stderr)
	}
	if code, out, _ := run(t, "health", "show", "A1", "--db", db); code != 0 || !strings.HasPrefix(out, "A1: 100.0 green (model default, 2024-06-01)") {
		t.Errorf("show: %d %q", code, out)
	}
	// Two days later, and two more: the score is the same, so the runs
	// keep the first's row (and its values) and say so.
	for _, at := range []string{"2024-06-03", "2024-06-05"} {
		if code, _, stderr := run(t, "health", "recompute", "--at", at, "--db", db); code != 0 {
			t.Fatalf("recompute --at %s: %s", at, stderr)
		}
	}
	if code, out, _ := run(t, "health", "show", "A1", "--db", db); code != 0 || !strings.HasPrefix(out, "A1: 100.0 green (model default, 2024-06-01; unchanged through 2024-06-05)\n") {
		t.Errorf("show after an unchanged day: %d %q", code, out)
	}
	for id, want := range map[string]string{"nope": "health of nope: no such account", "": "<account>: an empty account id"} {
		if code, _, stderr := run(t, "health", "show", id, "--db", db); code == 0 || !strings.Contains(stderr, want) {
			t.Errorf("show %q: %d %q, want %q", id, code, stderr, want)
		}
	}
	if code, _, stderr := run(t, "health", "override", "A1", "--band", "red", "--db", db); code != 1 || !strings.Contains(stderr, "a reason is required") {
		t.Errorf("override without reason: %d %q", code, stderr)
	}
	if code, out, stderr := run(t, "health", "override", "A1", "--band", "red", "--reason", "champion left", "--expires", "2099-01-01", "--db", db); code != 0 || !strings.Contains(out, "until 2099-01-01T00:00:00Z") {
		t.Errorf("override: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := run(t, "health", "override", "A1", "--clear", "--db", db); code != 0 {
		t.Errorf("clear: %d %q", code, stderr)
	}
	if code, _, stderr := run(t, "health", "override", "A1", "--clear", "--db", db); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("clear twice: %d %q", code, stderr)
	}
	if code, out, _ := run(t, "health", "backtest", "--format", "json", "--db", db); code != 0 || !strings.Contains(out, `"model_id": "default"`) {
		t.Errorf("backtest: %d %q", code, out)
	}
}
