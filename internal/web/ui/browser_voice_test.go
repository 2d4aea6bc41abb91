package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestBrowserVoice opens the surveys and a campaign's results, ranks the
// product requests by ARR, adds a feedback item with the form and reads
// the survey in Japanese.
func TestBrowserVoice(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleCSM, "/surveys")
	if got := c.text(t, "h1"); got != "Surveys" {
		t.Fatalf("the heading is %q", got)
	}
	c.shot(t, "voice-surveys")
	c.run(t, "open the NPS campaign", chromedp.Click(chromedp.CSS(`a[href="/surveys/nps-2026-h1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`figure.chart svg`)))
	if got := c.text(t, ".voice-definition"); !strings.HasPrefix(got, "NPS = 100 × (promoters − detractors)") {
		t.Errorf("the definition reads %q", got)
	}
	c.shot(t, "voice-survey-results")

	byARR, err := feedback.Rank(context.Background(), s.db, feedback.RankOptions{Sort: "arr"})
	if err != nil || len(byARR) == 0 {
		t.Fatal(err)
	}
	c.run(t, "rank the requests by ARR", chromedp.Navigate(s.URL+"/product-requests"),
		chromedp.WaitVisible(chromedp.CSS(`table.voice-requests`)),
		chromedp.Click(chromedp.CSS(`.voice-toggle a[href="?sort=arr"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.voice-toggle a[href="?sort=arr"][aria-current="page"]`)))
	if got := c.text(t, "table.voice-requests tbody tr:first-child td:nth-child(2)"); got != byARR[0].Title {
		t.Errorf("first by ARR: %q, want %q", got, byARR[0].Title)
	}
	c.shot(t, "voice-requests-arr")
	c.run(t, "open the first request", chromedp.Click(chromedp.CSS(`table.voice-requests tbody tr:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/merge"]`)))
	c.shot(t, "voice-request")
	c.run(t, "the FAQ candidates", chromedp.Navigate(s.URL+"/feedback/faq"), chromedp.WaitVisible(chromedp.CSS(`table.voice-faq`)))
	c.shot(t, "voice-faq")

	c.run(t, "add a feedback item", chromedp.Navigate(s.URL+"/feedback"),
		chromedp.WaitVisible(chromedp.CSS(`#voice-add textarea[name=text]`)),
		chromedp.SetValue(chromedp.CSS(`#voice-add textarea[name=text]`), "Please add a Teams integration"),
		chromedp.Click(chromedp.CSS(`#voice-add button`)), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := c.text(t, "p.notice"); got != "Feedback recorded as Feature." {
		t.Errorf("the notice says %q", got)
	}
	if got := c.text(t, "table.voice-items tbody tr:first-child td:nth-child(4)"); got != "Please add a Teams integration" {
		t.Errorf("the newest item is %q", got)
	}
	c.shot(t, "voice-feedback")

	c.run(t, "the survey in Japanese", chromedp.Navigate(s.URL+"/surveys/nps-2026-h1"),
		chromedp.WaitVisible(chromedp.CSS(`.lang-switch button`)),
		chromedp.Click(chromedp.CSS(`.lang-switch button`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] figure.chart svg`)))
	if got := c.text(t, ".voice-definition"); !strings.HasPrefix(got, "NPS = 100 ×(推奨者") {
		t.Errorf("in Japanese the definition reads %q", got)
	}
	c.shot(t, "voice-survey-results-ja")
}
