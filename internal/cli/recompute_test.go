package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// kizuna recompute runs the pipeline over every account or the given ones
// and prints what it did; kizuna migrate has created River's tables.
func TestRecomputeCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	f := writeFile(t, dir, "a.csv", "account_id,name\nA1,One\nA2,Two\nA3,Three\n")
	if code, _, errs := run(t, "import", "accounts", f, "--db", db); code != 0 {
		t.Fatalf("import: %d %s", code, errs)
	}
	if code, _, errs := run(t, "migrate", "--db", db); code != 0 {
		t.Fatalf("migrate: %d %s", code, errs)
	}
	m := writeFile(t, dir, "m.json", `{"models": [{"id": "default", "name": "Default", "measures": [{"name": "Tenure", "field": "tenure_days", "thresholds": [{"min": 0, "score": 50}], "weight": 1}]}]}`)
	if code, _, errs := run(t, "health", "models", "import", m, "--db", db); code != 0 {
		t.Fatalf("models import: %d %s", code, errs)
	}
	for _, tc := range []struct {
		args              []string
		accounts, batches int
	}{
		{[]string{"--batch-size", "2"}, 3, 2},
		{[]string{"--accounts", "A3,A1,nope"}, 2, 1},
	} {
		code, out, errs := run(t, append([]string{"recompute", "--db", db, "--format", "json", "--at", "2025-01-01"}, tc.args...)...)
		var res struct {
			Accounts, Batches int
			Seconds           float64
		}
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Accounts != tc.accounts || res.Batches != tc.batches {
			t.Errorf("recompute %v: %d %s %s", tc.args, code, out, errs)
		}
	}
	// A run of some accounts a month later scores them then, and does not
	// claim to have scored the others through that day.
	if code, _, errs := run(t, "recompute", "--db", db, "--accounts", "A1", "--at", "2025-02-01"); code != 0 {
		t.Fatalf("recompute --accounts A1: %d %s", code, errs)
	}
	for id, want := range map[string]string{"A1": "A1: 50.0 yellow (model default, 2025-02-01)\n", "A3": "A3: 50.0 yellow (model default, 2025-01-01)\n"} {
		if code, out, errs := run(t, "health", "show", id, "--db", db); code != 0 || !strings.HasPrefix(out, want) {
			t.Errorf("health show %s: %d %q %s, want %q", id, code, out, errs, want)
		}
	}
	if code, _, errs := run(t, "recompute", "--db", db, "--at", "yesterday"); code != 2 || !strings.Contains(errs, `--at "yesterday"`) {
		t.Errorf("bad --at: %d %s", code, errs)
	}
}
