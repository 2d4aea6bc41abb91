package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestBrowserGoals creates a goal with the form in a real browser, finds
// it on /goals and on the dashboard, opens the company NRR goal's chart,
// and looks at the list on a phone. (Refused forms are tested over HTTP:
// a 422 page counts as a browser error in this harness.)
func TestBrowserGoals(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleManager, "/goals")
	if got := c.text(t, "h1"); got != "Goals" {
		t.Fatalf("the list's heading is %q", got)
	}
	c.shot(t, "goals-list")
	c.run(t, "open the form", chromedp.Click(chromedp.CSS(`a[href="/goals/new"]`)), chromedp.WaitVisible(chromedp.CSS(`form.goals-form`)))
	c.run(t, "fill it in",
		chromedp.SetValue(chromedp.CSS(`input[name=goal_id]`), "arr-2027"),
		chromedp.SetValue(chromedp.CSS(`input[name=name]`), "ARR of 3 million"),
		chromedp.SetValue(chromedp.CSS(`select[name=metric]`), "arr"),
		chromedp.SetValue(chromedp.CSS(`input[name=target]`), "3000000"),
		chromedp.SetValue(chromedp.CSS(`input[name=deadline]`), "2027-06-30"),
		chromedp.SetValue(chromedp.CSS(`select[name=owner_email]`), "haruka.mori@example.com"),
	)
	c.shot(t, "goals-form")
	c.run(t, "save", chromedp.Click(chromedp.CSS(`form.goals-form button.primary`)), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, "p.notice"); got != "Goal ARR of 3 million saved." {
		t.Errorf("the notice says %q", got)
	}
	if got := c.text(t, "h1"); got != "ARR of 3 million" {
		t.Errorf("after saving, the heading is %q", got)
	}
	c.shot(t, "goals-new-goal")
	c.run(t, "the list", chromedp.Navigate(s.URL+"/goals"), chromedp.WaitVisible(chromedp.CSS(`table.goals-table`)))
	if got := c.text(t, `table.goals-table`); !strings.Contains(got, "ARR of 3 million") || !strings.Contains(got, "haruka.mori@example.com") {
		t.Errorf("the list lacks the new goal: %q", got)
	}
	c.run(t, "the dashboard", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#goals table`)))
	if got := c.text(t, `#goals`); !strings.Contains(got, "ARR of 3 million") || !strings.Contains(got, "Net revenue retention 100%") {
		t.Errorf("the dashboard's goals panel: %q", got)
	}
	c.shot(t, "goals-dashboard")
	c.run(t, "the company NRR goal", chromedp.Navigate(s.URL+"/goals/"+demo.NRRGoal), chromedp.WaitVisible(chromedp.CSS(`.goals-chart svg`)))
	c.shot(t, "goals-nrr")
	c.run(t, "phone width", chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(s.URL+"/goals"), chromedp.WaitVisible(chromedp.CSS(`table.goals-table`)))
	c.shot(t, "goals-list-phone")
}
