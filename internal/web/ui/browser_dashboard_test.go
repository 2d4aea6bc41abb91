package ui_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func TestBrowserDashboard(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleManager, "/")
	c.run(t, "dashboard charts", chromedp.WaitVisible(chromedp.CSS(`#movements figure.chart svg`)),
		chromedp.WaitVisible(chromedp.CSS(`#health table`)))
	if got := c.text(t, "h1"); got != "Dashboard" {
		t.Fatalf("the page says %q", got)
	}
	// Every bar has a tooltip; the tiles and the at-risk list are there.
	if !value(t, c, "tooltips", chromedp.Evaluate[bool](`[...document.querySelectorAll("#movements svg rect")].length > 10 &&
		[...document.querySelectorAll("#movements svg rect")].every(r => r.querySelector("title") && r.querySelector("title").textContent.includes(" · "))`)) {
		t.Errorf("movement bars without tooltips")
	}
	if n := value(t, c, "tiles", chromedp.Evaluate[int](`document.querySelectorAll(".tile").length`)); n != 8 {
		t.Errorf("%d tiles", n)
	}
	if n := value(t, c, "at risk", chromedp.Evaluate[int](`document.querySelectorAll("#at-risk a[href^='/accounts/']").length`)); n != 10 {
		t.Errorf("%d accounts at risk listed", n)
	}
	c.shot(t, "dashboard-en")

	// The owner filter sends its form when changed.
	owner := value(t, c, "choose an owner", chromedp.Evaluate[string](`(() => {
		const sel = document.querySelector("select[name=owner]");
		sel.selectedIndex = 1;
		sel.dispatchEvent(new Event("change"));
		return sel.value;
	})()`))
	c.run(t, "filtered by owner", chromedp.WaitReady(chromedp.CSS(`select[name=owner] option[selected][value="`+owner+`"]`)))

	c.run(t, "switch to Japanese", chromedp.Click(chromedp.CSS(`.lang-switch button`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] #movements svg`)))
	if got := c.text(t, "h1"); got != "ダッシュボード" {
		t.Errorf("in Japanese the heading is %q", got)
	}
	c.shot(t, "dashboard-ja")

	c.run(t, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#movements svg`)))
	if w := value(t, c, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
		t.Errorf("on a phone the dashboard is %d px wide", w)
	}
	c.shot(t, "dashboard-phone")

	c.run(t, "metrics page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.URL+"/metrics?from=2025-11&to=2026-10"),
		chromedp.WaitVisible(chromedp.CSS(`#cohorts svg`)))
	if !value(t, c, "heat map tooltips", chromedp.Evaluate[bool](`document.querySelectorAll("#cohorts svg rect title").length > 50`)) {
		t.Errorf("the heat map has no cells with tooltips")
	}
	c.shot(t, "metrics-ja")
}
