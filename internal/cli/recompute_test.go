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
	if code, _, errs := run(t, "recompute", "--db", db, "--at", "yesterday"); code != 2 || !strings.Contains(errs, `--at "yesterday"`) {
		t.Errorf("bad --at: %d %s", code, errs)
	}
}
