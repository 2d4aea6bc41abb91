package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestBrowserPrograms opens the programs list and a program's results in
// a real browser, adds a participant with the form, and looks at the page
// on a phone.
func TestBrowserPrograms(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleCSM, "/programs")
	if got := c.text(t, "h1"); got != "Programs" {
		t.Fatalf("the list's heading is %q", got)
	}
	c.shot(t, "programs-list")
	c.run(t, "open the seminar", chromedp.Click(chromedp.CSS(`a[href="/programs/`+demo.SeminarProgram+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.programs-results`)))
	if got := c.text(t, "table.programs-results tbody tr:first-child strong"); !strings.Contains(got, "reports adoption") {
		t.Errorf("the first verdict is %q", got)
	}
	c.shot(t, "programs-seminar")
	// A 422 page counts as a browser error in this harness, so the refused
	// form is tested over HTTP (TestProgramPages); here one account is added.
	ctx := context.Background()
	parts, err := program.Participants(ctx, s.db, demo.SeminarProgram)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, p := range parts {
		in[p.AccountID] = true
	}
	all, err := account.List(ctx, s.db, account.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	fresh := ""
	for _, a := range all {
		if !in[a.ID] {
			fresh = a.ID
			break
		}
	}
	c.run(t, "add a participant", chromedp.SetValue(chromedp.CSS(`textarea[name=accounts]`), fresh),
		chromedp.Click(chromedp.CSS(`form[action$="/participants"] button`)), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, "p.notice"); got != "1 participants added." {
		t.Errorf("the notice says %q", got)
	}
	c.run(t, "phone width", chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(s.URL+"/programs/"+demo.SeminarProgram), chromedp.WaitVisible(chromedp.CSS(`table.programs-results`)))
	c.shot(t, "programs-seminar-phone")
}

// TestBrowserProgramCreate: a manager creates a program with the editor
// and lands on its page with the measures it was given.
func TestBrowserProgramCreate(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleManager, "/programs")
	c.run(t, "open the editor", chromedp.Click(chromedp.CSS(`a[href="/programs/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.programs-form`)))
	c.run(t, "fill it in",
		chromedp.SendKeys(chromedp.CSS(`input[name=id]`), "dashboards-video"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Dashboards video"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=hypothesis]`), "A short video makes customers build dashboards"),
		chromedp.SetValue(chromedp.CSS(`select[name=action]`), "video"),
		chromedp.SetValue(chromedp.CSS(`input[name=start_date]`), "2026-07-01"),
		chromedp.SetValue(chromedp.CSS(`select[name="m0.kind"]`), "adoption"),
		chromedp.SetValue(chromedp.CSS(`select[name="m0.feature"]`), "dashboards"),
	)
	c.shot(t, "programs-new")
	c.run(t, "save", chromedp.Click(chromedp.CSS(`form.programs-form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, "p.notice"); got != "Program saved." {
		t.Errorf("the notice says %q", got)
	}
	if got := c.text(t, "h1"); got != "Dashboards video" {
		t.Errorf("the page's heading is %q", got)
	}
	if got := c.text(t, "table.programs-results tbody tr:first-child td"); got != "dashboards adoption" {
		t.Errorf("the first measure is %q", got)
	}
	p, err := program.Get(context.Background(), s.db, "dashboards-video")
	if err != nil || p.Action != "video" || p.Start.Format("2006-01-02") != "2026-07-01" || len(p.Measures) != 1 {
		t.Errorf("stored %+v (%v)", p, err)
	}
	c.shot(t, "programs-created")
}
