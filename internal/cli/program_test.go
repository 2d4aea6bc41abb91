package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/store"
)

func TestProgramCommands(t *testing.T) {
	dir, db := importCSV(t, [2]string{"accounts", "account_id,name\nA1,Acme\nA2,Beta\nA3,Gamma\n"},
		[2]string{"subscriptions", "subscription_id,account_id,start_date,mrr\nS1,A1,2024-01-01,100\nS2,A2,2024-01-01,100\nS3,A3,2024-01-01,100\n"})
	ctx := context.Background()
	sdb, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := program.Create(ctx, sdb, program.Program{ID: "seminar", Name: "Reports seminar", Action: program.ActionSeminar,
		Start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Measures: []program.OutcomeMeasure{{Kind: program.MeasureChurn, Days: 30}}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	sdb.Close()

	code, stdout, stderr := run(t, "program", "add-participants", "seminar", "A1", "--db", db)
	if code != 0 || stdout != "1 added (0 already taking part); 1 participants\n" {
		t.Errorf("add: %d %q %q", code, stdout, stderr)
	}
	csv := writeFile(t, dir, "parts.csv", "account_id,joined_date\nA1,2025-03-02\nA2,2025-03-02\n")
	code, stdout, stderr = run(t, "program", "add-participants", "seminar", "--csv", csv, "--db", db)
	if code != 0 || stdout != "1 added (1 already taking part); 2 participants\n" {
		t.Errorf("add csv: %d %q %q", code, stdout, stderr)
	}
	code, _, stderr = run(t, "program", "add-participants", "seminar", "A3", "ZZ", "--db", db)
	if code != 1 || !strings.Contains(stderr, `participants[1].account_id: no account "ZZ"`) {
		t.Errorf("unknown account: %d %q", code, stderr)
	}
	code, _, stderr = run(t, "program", "add-participants", "seminar", "--db", db)
	if code != 1 || !strings.Contains(stderr, "nothing to add") {
		t.Errorf("nothing: %d %q", code, stderr)
	}
	code, stdout, _ = run(t, "program", "list", "--db", db)
	if code != 0 || !strings.Contains(stdout, "seminar                  seminar   2025-03-01      2 participants  Reports seminar") {
		t.Errorf("list: %d %q", code, stdout)
	}
	code, stdout, _ = run(t, "program", "show", "seminar", "--db", db)
	if code != 0 || !strings.Contains(stdout, "measures:    churn within 30 days") || !strings.Contains(stdout, "participants: 2 (import 1, hand 1, playbook 0)") {
		t.Errorf("show: %d %q", code, stdout)
	}
	// A1 and A2 take part; A3 is the only customer left to match: the
	// control is too small.
	code, stdout, stderr = run(t, "program", "results", "seminar", "--format", "json", "--db", db)
	if code != 0 {
		t.Fatalf("results: %d %s", code, stderr)
	}
	var r program.ProgramResults
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Participants != 2 || r.Control.Accounts != 1 || r.Control.Unmatched != 1 || r.Measures[0].Verdict.Code != program.VerdictInsufficient {
		t.Errorf("results %+v", r)
	}
	code, stdout, _ = run(t, "program", "results", "seminar", "--db", db)
	if code != 0 || !strings.Contains(stdout, "- not enough accounts to measure churn within 30 days (participants 2, control 1; at least 2 each)") {
		t.Errorf("results text: %q", stdout)
	}
	if code, _, stderr := run(t, "program", "results", "nope", "--db", db); code != 1 || !strings.Contains(stderr, `program "nope": program not found`) {
		t.Errorf("unknown program: %d %q", code, stderr)
	}
}
