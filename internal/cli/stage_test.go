package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStageCommands(t *testing.T) {
	// A1 pays 100 a month (ARR 1,200), A2 10,000 (ARR 120,000), both since 2024.
	_, db := importCSV(t, [2]string{"accounts", "account_id,name\nA1,Acme\nA2,Beta\n"},
		[2]string{"subscriptions", "subscription_id,account_id,start_date,mrr\nS1,A1,2024-01-01,100\nS2,A2,2024-01-01,10000\n"})
	code, out, _ := run(t, "stage", "list", "--db", db)
	if code != 0 || !strings.Contains(out, "prospect") || !strings.Contains(out, "adoption") {
		t.Errorf("list: %d %s", code, out)
	}
	code, _, stderr := run(t, "stage", "set", "big", "--rule", "arr >= 100000 &&\n helth_band == \"red\"", "--db", db)
	if code != 1 || !strings.Contains(stderr, "--rule: line 2, column 2: unknown name helth_band") {
		t.Errorf("typo: %d %q", code, stderr)
	}
	// big before adoption (70): A2 big, A1 adoption.
	code, out, stderr = run(t, "stage", "set", "big", "--rule", `arr >= 100000`, "--priority", "65", "--format", "json", "--db", db)
	var saved struct {
		Priority, Moved int
		Name            string
	}
	if code != 0 || json.Unmarshal([]byte(out), &saved) != nil || saved.Moved != 2 || saved.Priority != 65 || saved.Name != "big" {
		t.Errorf("set: %d %s %s", code, out, stderr)
	}
	// Replacing keeps the priority and name when not given.
	code, out, _ = run(t, "stage", "set", "big", "--rule", `arr >= 1000`, "--format", "json", "--db", db)
	if code != 0 || json.Unmarshal([]byte(out), &saved) != nil || saved.Moved != 1 || saved.Priority != 65 {
		t.Errorf("replace: %d %s", code, out)
	}
	code, out, _ = run(t, "stage", "summary", "--format", "json", "--db", db)
	var sum struct {
		Stages []struct {
			StageID  string  `json:"stage_id"`
			Accounts int     `json:"accounts"`
			ARR      float64 `json:"arr"`
		} `json:"stages"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
		t.Fatalf("summary: %d %s", code, out)
	}
	for _, s := range sum.Stages {
		if s.StageID == "big" && (s.Accounts != 2 || s.ARR != 121200) || s.StageID != "big" && s.Accounts != 0 {
			t.Errorf("summary: %+v", s)
		}
	}
	// A1 was in adoption for less than a second, or, when both saves fell in
	// the same second, not at all: its last stay is big, running.
	code, out, _ = run(t, "stage", "history", "A1", "--format", "json", "--db", db)
	var stays []struct {
		StageID string  `json:"stage_id"`
		LeftAt  *string `json:"left_at"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &stays) != nil || len(stays) == 0 || stays[len(stays)-1].StageID != "big" || stays[len(stays)-1].LeftAt != nil {
		t.Errorf("history: %d %s", code, out)
	}
	if code, _, _ = run(t, "stage", "history", "nope", "--db", db); code != 1 {
		t.Errorf("history of an unknown account: %d", code)
	}
	code, out, _ = run(t, "stage", "show", "onboarding", "--db", db)
	if code != 0 || !strings.Contains(out, "goal") || !strings.Contains(out, "time to value") {
		t.Errorf("show: %d %s", code, out)
	}
	if code, out, _ = run(t, "stage", "delete", "big", "--db", db); code != 0 || !strings.Contains(out, "2 accounts changed stage") {
		t.Errorf("delete: %d %s", code, out)
	}
	if code, _, _ = run(t, "stage", "delete", "big", "--db", db); code != 1 {
		t.Errorf("delete again: %d", code)
	}
}
