package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSnapshotAndRuleCommands(t *testing.T) {
	_, db := importCSV(t, [2]string{"accounts", "account_id,name,segment\nA1,Acme,smb\nA2,Beta,enterprise\n"},
		[2]string{"subscriptions", "subscription_id,account_id,start_date,mrr\nS1,A1,2024-01-01,100\n"})
	code, out, stderr := run(t, "snapshot", "A1", "--at", "2024-06-01", "--db", db)
	var snap map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &snap) != nil || snap["mrr"] != 100.0 || snap["tenure_days"] != 152.0 {
		t.Errorf("snapshot: %d %s %s", code, out, stderr)
	}
	code, out, _ = run(t, "rule", "check", `attr["segment"] == "smb" || mrr > 1000`, "--db", db)
	if code != 0 || !strings.Contains(out, "valid; 1 of 2 accounts match\n  A1\n") {
		t.Errorf("check: %d %q", code, out)
	}
	code, out, _ = run(t, "rule", "check", `mrr * 12`, "--number", "--at", "2024-06-01", "--db", db)
	if code != 0 || !strings.Contains(out, "mean over 2 accounts: 600") {
		t.Errorf("number: %d %q", code, out)
	}
	code, _, stderr = run(t, "rule", "check", `mrr > 1 && tenure < 3`, "--db", db)
	if code != 1 || !strings.Contains(stderr, "kizuna: rule: line 1, column 12: unknown name tenure") || !strings.Contains(stderr, " | ...........^\n") {
		t.Errorf("typo: %d %q", code, stderr)
	}
	if code, _, stderr = run(t, "snapshot", "NOPE", "--db", db); code != 1 || !strings.Contains(stderr, "account not found") {
		t.Errorf("unknown account: %d %q", code, stderr)
	}
}
