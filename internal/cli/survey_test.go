package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/notify"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

func TestSurveyAndFeedbackCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	accounts := writeFile(t, dir, "accounts.csv", "account_id,name\nA1,Acme\nA2,Beta\n")
	contacts := writeFile(t, dir, "contacts.csv", "contact_id,account_id,email\nC1,A1,kei@acme.example\nC2,A2,\nC3,A2,ren@beta.example\n")
	for _, f := range [][]string{{"accounts", accounts}, {"contacts", contacts}} {
		if code, _, stderr := run(t, "import", f[0], f[1], "--db", db); code != 0 {
			t.Fatal(stderr)
		}
	}
	ctx := context.Background()
	sdb, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := survey.Create(ctx, sdb, survey.Survey{ID: "nps-q4", QuestionEN: "Recommend us?", SubjectEN: "One question",
		BodyEN: "{{.Link}}"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := support.UpsertTicket(ctx, sdb, support.Ticket{ID: "T1", AccountID: "A2", OpenedAt: time.Now().Add(-time.Hour), Subject: "Dark mode please"}); err != nil {
		t.Fatal(err)
	}
	sdb.Close()

	if code, _, stderr := run(t, "survey", "send", "nps-q4", "--db", db); code != 1 || !strings.Contains(stderr, "--base-url:") {
		t.Errorf("no base URL: %d %q", code, stderr)
	}
	code, stdout, stderr := run(t, "survey", "send", "nps-q4", "--base-url", "https://cs.example.com", "--db", db)
	if code != 0 || stdout != "survey nps-q4: queued 2 emails of 3 contacts; skipped 1 without email, 0 unsubscribed, 0 throttled, "+
		"0 answered, 0 duplicate addresses; 0 deferred (limits)\n" {
		t.Fatalf("send: %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ = run(t, "survey", "send", "nps-q4", "--base-url", "https://cs.example.com", "--dry-run", "--db", db)
	if code != 0 || !strings.Contains(stdout, "would queue 0 emails of 3 contacts; skipped 1 without email, 0 unsubscribed, 2 throttled") {
		t.Errorf("dry run: %d %q", code, stdout)
	}
	code, stdout, _ = run(t, "survey", "show", "nps-q4", "--db", db)
	if code != 0 || !strings.Contains(stdout, "sends          2 (2 contacts)\nresponses      0\n") || !strings.Contains(stdout, "throttle       90 days") {
		t.Errorf("show: %d %q", code, stdout)
	}
	if code, stdout, _ = run(t, "survey", "list", "--db", db); code != 0 || !strings.Contains(stdout, "nps-q4") {
		t.Errorf("list: %d %q", code, stdout)
	}
	if code, _, stderr = run(t, "survey", "show", "nope", "--db", db); code != 1 {
		t.Errorf("show unknown: %d %q", code, stderr)
	}

	code, stdout, stderr = run(t, "feedback", "from-ticket", "T1", "--db", db)
	if code != 0 || stdout != "feedback fb_t_T1 (ui_ux) from ticket T1: Dark mode please\n" {
		t.Fatalf("from ticket: %d %q %q", code, stdout, stderr)
	}
	if code, _, stderr = run(t, "feedback", "from-ticket", "T1", "--db", db); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("from ticket twice: %d %q", code, stderr)
	}
	sdb, err = store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feedback.CreateRequest(ctx, sdb, feedback.Request{ID: "dark", Title: "Dark mode"}, []string{"fb_t_T1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	pending, err := notify.Pending(ctx, sdb, time.Now(), 0)
	sdb.Close()
	if err != nil || len(pending) != 2 {
		t.Errorf("pending deliveries %v %v", pending, err)
	}
	code, stdout, _ = run(t, "feedback", "requests", "--sort", "arr", "--db", db)
	if code != 0 || !strings.Contains(stdout, "dark") || !strings.Contains(stdout, "Dark mode") {
		t.Errorf("requests: %d %q", code, stdout)
	}
}
