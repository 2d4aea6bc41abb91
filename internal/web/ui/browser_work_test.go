package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/task"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func TestBrowserWork(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	ctx := context.Background()
	for _, a := range []account.Account{{ID: "acme", Name: "Acme KK"}, {ID: "beta", Name: "Beta Inc"}} {
		if err := account.Upsert(ctx, s.db, a); err != nil {
			t.Fatal(err)
		}
	}
	due := time.Now().Add(-24 * time.Hour)
	later := time.Now().Add(5 * 24 * time.Hour)
	err := task.Insert(ctx, s.db, []task.Task{
		{ID: "t_call", AccountID: "acme", Title: "Call about the renewal", Assignee: "csm@example.com", DueAt: &due, Priority: "high"},
		{ID: "t_review", AccountID: "beta", Title: "Quarterly business review", Assignee: "csm@example.com", DueAt: &later},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, s)

	// A CSM marks a task done with its outcome.
	c.signIn(t, user.RoleCSM, "/queue")
	if got := c.text(t, "#task-t_call .work-late"); got != "Overdue" {
		t.Errorf("the overdue task says %q", got)
	}
	c.shot(t, "work-queue")
	c.run(t, "mark the call done",
		chromedp.SetValue(chromedp.CSS(`#status-t_call`), "done"),
		chromedp.SetValue(chromedp.CSS(`#outcome-t_call`), "success"),
		chromedp.Click(chromedp.CSS(`#task-t_call form button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if value(t, c, "the done task left the queue", chromedp.Evaluate[bool](`document.getElementById("task-t_call") !== null`)) {
		t.Error("the done task is still listed")
	}
	var status, outcome string
	s.db.QueryRow(`SELECT status, outcome FROM tasks WHERE task_id = 't_call'`).Scan(&status, &outcome)
	if status != "done" || outcome != "success" {
		t.Errorf("the task is %s/%s, want done/success", status, outcome)
	}
	c.shot(t, "work-queue-after")
	c.run(t, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#task-t_review`)))
	c.shot(t, "work-queue-phone")
	c.run(t, "desktop width", chromedp.EmulateViewport(1280, 900))
	signOut(t, c)

	// An admin creates an API key and sees its secret once.
	c.signIn(t, user.RoleAdmin, "/settings")
	c.shot(t, "work-settings")
	c.run(t, "create a key",
		chromedp.SendKeys(chromedp.CSS(`form[action="/settings/keys"] input[name=name]`), "Warehouse export"),
		chromedp.SetValue(chromedp.CSS(`form[action="/settings/keys"] select[name=scope]`), "write"),
		chromedp.Click(chromedp.CSS(`form[action="/settings/keys"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret`)),
	)
	secret := value(t, c, "the secret", chromedp.Evaluate[string](`document.getElementById("secret").value`))
	if !strings.HasPrefix(secret, "kz_") || len(secret) < 40 {
		t.Errorf("the secret shown is %q", secret)
	}
	c.shot(t, "work-key-created")
	c.run(t, "back to the settings", chromedp.Click(chromedp.CSS(`.work-secret a`)), chromedp.WaitVisible(chromedp.CSS(`#keys table`)))
	if strings.Contains(c.text(t, "#keys"), secret) {
		t.Error("the settings show the secret again")
	}
	c.run(t, "open the audit log", chromedp.Click(chromedp.CSS(`.page-head a[href="/settings/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main table`)))
	if got := c.text(t, "main tbody tr td:nth-child(3)"); got != "create" {
		t.Errorf("the newest audit entry's action is %q, want create (the key)", got)
	}
	c.shot(t, "work-audit")
	signOut(t, c)

	// A manager uploads a CSV with an error and sees it.
	file := filepath.Join(t.TempDir(), "accounts.csv")
	if err := os.WriteFile(file, []byte("account_id,name,signup_at\nn1,New One,2026-02-01\nn2,New Two,someday\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.signIn(t, user.RoleManager, "/import")
	c.run(t, "choose the file",
		chromedp.SetValue(chromedp.CSS(`select[name=kind]`), "accounts"),
		chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{file}),
	)
	c.shot(t, "work-import")
	c.run(t, "upload", chromedp.Click(chromedp.CSS(`button[value=import]`)), chromedp.WaitVisible(chromedp.CSS(`pre.work-errors`)))
	want := `accounts.csv:3: signup_at: "someday" is not a date`
	if got := c.text(t, "pre.work-errors"); !strings.HasPrefix(got, want) {
		t.Errorf("the row errors say %q, want %q…", got, want)
	}
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&n)
	if n != 2 {
		t.Errorf("%d accounts after a rejected file, want 2", n)
	}
	c.shot(t, "work-import-errors")
}

// signOut waits for the login form itself: other pages (the settings) have
// an email field too.
func signOut(t *testing.T, c *chrome) {
	t.Helper()
	c.run(t, "sign out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"] input[name=email]`)))
}
