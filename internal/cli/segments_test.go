package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func TestSegmentCoverageAndAssignCommands(t *testing.T) {
	// A1: 100 a month (ARR 1,200: tech touch); A2: 10,000 (ARR 120,000: high touch).
	_, db := importCSV(t, [2]string{"accounts", "account_id,name\nA1,Acme\nA2,Beta\n"},
		[2]string{"subscriptions", "subscription_id,account_id,start_date,mrr\nS1,A1,2024-01-01,100\nS2,A2,2024-01-01,10000\n"})
	ctx := context.Background()
	sdb, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range [][2]string{{"cs@example.com", user.RoleCSM}, {"view@example.com", user.RoleViewer}} {
		if _, err := user.Create(ctx, sdb, u[0], "", u[1], "password-1234"); err != nil {
			t.Fatal(err)
		}
	}
	sdb.Close()

	code, _, stderr := run(t, "segment", "create", "big", "--rule", `arr >= 100000 && helth_band == "red"`, "--db", db)
	if code != 1 || !strings.Contains(stderr, "--rule: line 1, column 18: unknown name helth_band (did you mean health_band?)") {
		t.Errorf("typo: %d %q", code, stderr)
	}
	code, out, stderr := run(t, "segment", "create", "big", "--rule", `arr >= 100000`, "--format", "json", "--db", db)
	var saved struct{ Members, Joined int }
	if code != 0 || json.Unmarshal([]byte(out), &saved) != nil || saved.Members != 1 || saved.Joined != 1 {
		t.Errorf("create: %d %s %s", code, out, stderr)
	}
	if code, _, stderr = run(t, "segment", "create", "big", "--rule", `arr > 0`, "--db", db); code != 1 || !strings.Contains(stderr, "--replace") {
		t.Errorf("create again: %d %q", code, stderr)
	}
	code, out, _ = run(t, "segment", "members", "big", "--format", "json", "--db", db)
	var members []struct {
		AccountID string `json:"account_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &members) != nil || len(members) != 1 || members[0].AccountID != "A2" {
		t.Errorf("members: %d %s", code, out)
	}
	code, out, _ = run(t, "coverage", "tiers", "--format", "json", "--db", db)
	var tiers struct {
		Tiers []struct{ Accounts int } `json:"tiers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &tiers) != nil || len(tiers.Tiers) != 3 || tiers.Tiers[0].Accounts != 1 || tiers.Tiers[2].Accounts != 1 {
		t.Errorf("tiers: %d %s", code, out)
	}
	if code, _, stderr = run(t, "coverage", "owner", "A1", "view@example.com", "--db", db); code != 1 || !strings.Contains(stderr, "role viewer") {
		t.Errorf("owner viewer: %d %q", code, stderr)
	}
	code, out, _ = run(t, "assign", "--strategy", "round_robin", "--dry-run", "--format", "json", "--db", db)
	var plan struct {
		Assignments []struct {
			AccountID string `json:"account_id"`
		} `json:"assignments"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &plan) != nil || len(plan.Assignments) != 2 || plan.Assignments[0].AccountID != "A2" {
		t.Errorf("assign: %d %s", code, out)
	}
	if code, out, _ = run(t, "assign", "--strategy", "least_arr", "--db", db); code != 0 || !strings.Contains(out, "assigned 2 accounts") {
		t.Errorf("assign: %d %s", code, out)
	}
	code, out, _ = run(t, "coverage", "workload", "--format", "json", "--db", db)
	var ws []struct {
		Email    string
		Accounts int
	}
	if code != 0 || json.Unmarshal([]byte(out), &ws) != nil || len(ws) != 1 || ws[0].Accounts != 2 {
		t.Errorf("workload: %d %s", code, out)
	}
	if code, _, stderr = run(t, "coverage", "set", "touch_tier.basis", "mrr", "--db", db); code != 1 {
		t.Errorf("bad setting: %d %q", code, stderr)
	}
	if code, _, _ = run(t, "segment", "delete", "big", "--db", db); code != 0 {
		t.Errorf("delete: %d", code)
	}
}
