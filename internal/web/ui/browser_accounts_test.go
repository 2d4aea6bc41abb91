package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestBrowserAccounts filters the list to red accounts with the band
// select (its change sends the form), opens one, adds a note and creates a
// task, at a desktop and a phone width.
func TestBrowserAccounts(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleCSM, "/accounts")
	if got := c.text(t, "h1"); got != "Accounts" {
		t.Fatalf("the list's heading is %q", got)
	}
	c.shot(t, "accounts-list")

	value(t, c, "choose the red band", chromedp.Evaluate[bool](`(() => {
			const s = document.querySelector("select[name=band]");
			s.value = "red";
			s.dispatchEvent(new Event("change", {bubbles: true}));
			return true;
		})()`))
	c.run(t, "the red list", chromedp.WaitReady(chromedp.CSS(`select[name=band] option[value=red][selected]`)))
	bands := value(t, c, "row bands", chromedp.Evaluate[[]string](
		`[...document.querySelectorAll(".accounts-table tbody tr td:nth-child(3) .tag")].map(e => e.className)`))
	if len(bands) == 0 {
		t.Fatal("no red accounts in the demo")
	}
	for _, b := range bands {
		if b != "tag band-red" {
			t.Fatalf("a row of the red filter is %q", b)
		}
	}
	c.shot(t, "accounts-list-red")

	name := c.text(t, ".accounts-table tbody tr:first-child td a")
	c.run(t, "open the account", chromedp.Click(chromedp.CSS(`.accounts-table tbody tr:first-child td a`)),
		chromedp.WaitVisible(chromedp.CSS(`#h-timeline`)))
	if got := c.text(t, "h1"); got != name {
		t.Fatalf("opened %q, the page says %q", name, got)
	}

	note := "Browser test: called the champion about the renewal."
	c.run(t, "add a note", chromedp.SendKeys(chromedp.CSS(`.account-note textarea[name=body]`), note),
		chromedp.Click(chromedp.CSS(`.account-note button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, ".account-timeline li:first-child"); !strings.Contains(got, note) {
		t.Errorf("the newest timeline entry is %q", got)
	}

	c.run(t, "create a task", chromedp.Click(chromedp.CSS(`details.account-form summary`)),
		chromedp.SendKeys(chromedp.CSS(`details.account-form input[name=title]`), "Send the renewal quote"),
		chromedp.Click(chromedp.CSS(`details.account-form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, "#tasks .account-tasks"); !strings.Contains(got, "Send the renewal quote") {
		t.Errorf("the task list is %q", got)
	}
	c.shot(t, "account-page")

	c.run(t, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#h-timeline`)))
	if w := value(t, c, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the account page is %d px wide on a 390 px phone", w)
	}
	c.shot(t, "account-page-phone")
	c.run(t, "list on a phone", chromedp.Navigate(s.URL+"/accounts?band=red"),
		chromedp.WaitVisible(chromedp.CSS(`.accounts-table`)))
	if w := value(t, c, "list width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("the list is %d px wide on a 390 px phone", w)
	}
	c.shot(t, "accounts-list-phone")
}
