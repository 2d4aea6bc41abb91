package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/onboarding"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

func TestOnboardingCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	signup := time.Now().UTC().AddDate(0, 0, -40).Format(time.DateOnly)
	accounts := writeFile(t, dir, "accounts.csv", "account_id,name,signup_at\nA1,Acme,"+signup+"\nA2,Beta,"+signup+"\n")
	if code, _, stderr := run(t, "import", "accounts", accounts, "--db", db); code != 0 {
		t.Fatal(stderr)
	}
	ctx := context.Background()
	sdb, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := time.Parse(time.DateOnly, signup)
	if err := usage.AddRollups(ctx, sdb, "A1", []usage.DailyCount{{Day: store.Day(sd.Unix()) + 4, Event: "setup_completed", Count: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	sdb.Close()

	code, _, stderr := run(t, "onboarding", "definition", "--rule", "setup_don", "--db", db)
	if code != 1 || !strings.Contains(stderr, "--rule: line 1, column 1: unknown name setup_don (did you mean setup_done?)") {
		t.Errorf("bad rule: %d %q", code, stderr)
	}
	if code, _, stderr := run(t, "onboarding", "definition", "--rule", "setup_done", "--window-days", "400", "--db", db); code != 1 || !strings.Contains(stderr, "--window-days 400: want 1 to 365 days") {
		t.Errorf("bad window: %d %q", code, stderr)
	}
	if code, out, stderr := run(t, "onboarding", "definition", "--rule", "setup_done", "--window-days", "14", "--db", db); code != 0 || !strings.Contains(out, "version 1\nrule: setup_done\nwindow: 14 days") {
		t.Errorf("set: %d %q %q", code, out, stderr)
	}
	if code, out, stderr := run(t, "onboarding", "milestone", "setup", "--name", "Initial setup", "--event", "setup_completed", "--position", "1", "--db", db); code != 0 || out != "saved milestone setup\n" {
		t.Errorf("milestone: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := run(t, "onboarding", "milestone", "kick off", "--db", db); code != 1 || !strings.Contains(stderr, "milestone_id") {
		t.Errorf("bad milestone: %d %q", code, stderr)
	}
	run(t, "onboarding", "milestone", "kickoff", "--name", "Kickoff call", "--position", "2", "--db", db)
	if code, out, stderr := run(t, "onboarding", "check", "A2", "kickoff", "--db", db); code != 0 || !strings.HasPrefix(out, "completed Kickoff call of A2 at ") {
		t.Errorf("check: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := run(t, "recompute", "--db", db); code != 0 {
		t.Fatal(stderr)
	}
	code, out, _ := run(t, "onboarding", "status", "A1", "--db", db)
	if code != 0 || !strings.Contains(out, "A1: completed (signup "+signup+", day 40 of 14") || !strings.Contains(out, "completed "+sd.AddDate(0, 0, 4).Format(time.DateOnly)+" after 4 days") ||
		!strings.Contains(out, "[x] Initial setup (event") || !strings.Contains(out, "[ ] Kickoff call") {
		t.Errorf("status A1: %d %q", code, out)
	}
	if code, out, _ := run(t, "onboarding", "status", "A2", "--db", db); code != 0 || !strings.Contains(out, "A2: overdue") || !strings.Contains(out, "[x] Kickoff call (manual") {
		t.Errorf("status A2: %d %q", code, out)
	}
	code, out, _ = run(t, "onboarding", "report", "--format", "json", "--db", db)
	var rep onboarding.CompletionReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Overall.Accounts != 2 || rep.Overall.Completed != 1 || *rep.Overall.CompletionRate != 0.5 || *rep.Overall.MedianDaysToValue != 4 {
		t.Errorf("report: %d %s", code, out)
	}
	if code, out, _ := run(t, "onboarding", "report", "--db", db); code != 0 || !strings.Contains(out, "definition 1: setup_done within 14 days") {
		t.Errorf("report text: %d %s", code, out)
	}
}
