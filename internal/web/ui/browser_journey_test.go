package ui_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestBrowserJourney: a CSM opens the journey map, an account's plan,
// ticks an onboarding milestone, fills the handoff form and sees its
// completeness rise, then reads the plan in Japanese.
func TestBrowserJourney(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	id, _ := checklistAccount(t, s)
	c := newChrome(t, s)
	c.signIn(t, user.RoleCSM, "/journey")
	if got := c.text(t, "h1"); got != "Customer journey" {
		t.Fatalf("/journey heading %q", got)
	}
	if n := value(t, c, "cards", chromedp.Evaluate[int](`document.querySelectorAll(".journey-card").length`)); n < 3 {
		t.Errorf("%d stage cards", n)
	}
	if value(t, c, "edit forms", chromedp.Evaluate[bool](`document.querySelector(".journey-edit") !== null`)) {
		t.Error("a CSM is shown the stage edit forms")
	}
	c.shot(t, "journey-en")

	plan := s.URL + "/accounts/" + id + "/plan"
	c.run(t, "open the plan", chromedp.Navigate(plan), chromedp.WaitVisible(chromedp.CSS(`#checklist-table`)))
	c.run(t, "tick the kick-off", chromedp.Click(chromedp.CSS(`tr[data-milestone=kickoff] button.ck-tick`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, `tr[data-milestone=kickoff] .ck-done`); got != "✓ Done" {
		t.Errorf("the ticked milestone shows %q", got)
	}
	before := c.text(t, "#handoff-pct")
	// The next page's notice must not be confused with this one's.
	value(t, c, "drop the notice", chromedp.Evaluate[bool](`document.querySelector("p.notice").remove(), true`))
	c.run(t, "fill the handoff",
		chromedp.SendKeys(chromedp.CSS(`#handoff-form textarea[name=why_bought]`), "Month-end reports took two days"),
		chromedp.SendKeys(chromedp.CSS(`#handoff-form textarea[name=challenges]`), "Data spread over spreadsheets"),
		chromedp.SendKeys(chromedp.CSS(`#handoff-form textarea[name=success_criteria]`), "Close the month in one day"),
		chromedp.Click(chromedp.CSS(`#handoff-form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	// 3 of the 6 parts.
	if after := c.text(t, "#handoff-pct"); before != "0%" || after != "50%" {
		t.Errorf("handoff completeness %s → %s, want 0%% → 50%%", before, after)
	}
	if got := c.text(t, "#suggestions li"); got != "Close the month in one day" {
		t.Errorf("suggested goal %q", got)
	}
	c.shot(t, "plan-en")

	// The criterion becomes a draft goal (making the plan), and the plan a
	// link for the customer, which opens without the app's chrome.
	value(t, c, "drop the notice", chromedp.Evaluate[bool](`document.querySelector("p.notice").remove(), true`))
	c.run(t, "goals from the handoff", chromedp.Click(chromedp.CSS(`form[action$="/goals/from-handoff"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	value(t, c, "drop the notice", chromedp.Evaluate[bool](`document.querySelector("p.notice").remove(), true`))
	c.run(t, "agree the goal", chromedp.Click(chromedp.CSS(`#goals details.journey-edit:first-of-type summary`)),
		chromedp.SetValue(chromedp.CSS(`#goals details.journey-edit:first-of-type select[name=status]`), "agreed"),
		chromedp.SetValue(chromedp.CSS(`#goals details.journey-edit:first-of-type input[name=manual_percent]`), "40"),
		chromedp.Click(chromedp.CSS(`#goals details.journey-edit:first-of-type button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, "#plan-progress"); got != "40.0%" {
		t.Errorf("the plan's progress is %q after agreeing a goal at 40%%", got)
	}
	c.run(t, "make a link", chromedp.Click(chromedp.CSS(`#share-create`)), chromedp.WaitVisible(chromedp.CSS(`#share-url`)))
	link := c.text(t, "#share-url")
	c.run(t, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main.share-main h1`)))
	if value(t, c, "the shared page's chrome", chromedp.Evaluate[bool](`document.querySelector("header.top, form, script") !== null`)) {
		t.Error("the shared page has the app's header, a form or a script")
	}
	if got := c.text(t, "main.share-main h3"); got != "Close the month in one day" {
		t.Errorf("the shared page's goal is %q", got)
	}
	c.shot(t, "share-en")
	c.run(t, "back to the plan", chromedp.Navigate(plan), chromedp.WaitVisible(chromedp.CSS(`#checklist`)))

	c.run(t, "switch to Japanese", chromedp.Click(chromedp.CSS(`.lang-switch button`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] #checklist`)))
	if got := c.text(t, "#handoff h2"); got != "営業からの引き継ぎ" {
		t.Errorf("in Japanese the handoff heading is %q", got)
	}
	c.shot(t, "plan-ja")
	c.run(t, "the journey in Japanese", chromedp.Navigate(s.URL+"/journey"), chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] .journey-card`)))
	c.shot(t, "journey-ja")
	for _, p := range []string{"/onboarding", "/prospects", "/handoffs"} {
		c.run(t, p, chromedp.Navigate(s.URL+p), chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] main h1`)))
		c.shot(t, "journey-"+p[1:]+"-ja")
	}
	c.run(t, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(plan), chromedp.WaitVisible(chromedp.CSS(`#checklist`)))
	c.shot(t, "plan-phone")
}
