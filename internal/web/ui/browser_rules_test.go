package ui_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestBrowserRules: a manager edits a playbook rule with a typo, sees the
// live error with its position, fixes it, sees the ok mark and saves; then
// previews the health model's score distribution.
func TestBrowserRules(t *testing.T) {
	s := demoSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleManager, "/playbooks/health-red-call/edit")

	// Only the chosen trigger's fields show; a rule trigger shows its condition.
	if value(t, c, "condition hidden", chromedp.Evaluate[bool](`document.querySelector("#f-condition").offsetParent !== null`)) {
		t.Errorf("the condition of a rule trigger shows for a health band trigger")
	}
	value(t, c, "choose the rule trigger", chromedp.Evaluate[bool](`(() => {
		const s = document.querySelector("select[name=trigger]");
		s.value = "rule"; s.dispatchEvent(new Event("change")); return true })()`))
	c.run(t, "type a rule with a typo",
		chromedp.WaitVisible(chromedp.CSS(`#f-condition`)),
		chromedp.SendKeys(chromedp.CSS(`#f-condition`), "helth_score < 40"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#f-condition-check").textContent.includes("unknown name helth_score")`),
	)
	got := c.text(t, "#f-condition-check")
	if got != "Line 1, column 1: unknown name helth_score (did you mean health_score?)" {
		t.Errorf("the live error says %q", got)
	}
	if !value(t, c, "error style", chromedp.Evaluate[bool](`document.querySelector("#f-condition-check").className === "field-error" &&
		document.querySelector("#f-condition").getAttribute("aria-invalid") === "true"`)) {
		t.Errorf("the error is not marked as one")
	}
	c.shot(t, "rules-playbook-typo")

	value(t, c, "clear the rule", chromedp.Evaluate[bool](`(document.querySelector("#f-condition").value = "") === ""`))
	c.run(t, "fix the typo",
		chromedp.SendKeys(chromedp.CSS(`#f-condition`), "health_score < 40"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#f-condition-check").textContent === "✓ The rule is valid."`),
	)
	c.shot(t, "rules-playbook-fixed")
	c.run(t, "phone width", chromedp.EmulateViewport(390, 844))
	c.shot(t, "rules-playbook-phone")
	c.run(t, "desktop width", chromedp.EmulateViewport(1280, 900))

	c.run(t, "save",
		chromedp.Click(chromedp.CSS(`form.rules-form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if got := c.text(t, "p.notice"); got != "Playbook saved." {
		t.Errorf("after saving: %q", got)
	}
	p, err := playbook.Get(context.Background(), s.db, "health-red-call")
	if err != nil {
		t.Fatal(err)
	}
	// What the editor did not change is kept, the task's fallback assignee included.
	if p.Trigger != (playbook.Trigger{Type: "rule", Condition: "health_score < 40"}) || p.HoldoutShare != 0.1 || p.Filter != "customer" ||
		p.CooldownDays != 30 || len(p.Actions) != 1 || p.Actions[0].FallbackAssignee != demo.LoginEmail || p.Actions[0].DueInDays != 3 {
		t.Errorf("saved %+v", p)
	}
	c.shot(t, "rules-playbook-saved")

	c.run(t, "the playbooks", chromedp.Navigate(s.URL+"/playbooks"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	c.shot(t, "rules-playbooks")

	// The health model's preview: the distribution before saving.
	c.run(t, "preview the health model",
		chromedp.Navigate(s.URL+"/health/default"),
		chromedp.WaitVisible(chromedp.CSS(`button.rules-preview-button`)),
		chromedp.Click(chromedp.CSS(`button.rules-preview-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview figure.chart svg`)),
	)
	if got := c.text(t, "#preview h2"); got != "Preview (not saved)" {
		t.Errorf("the preview's heading is %q", got)
	}
	if bars := value(t, c, "bars", chromedp.Evaluate[int](`document.querySelectorAll("#preview svg rect").length`)); bars == 0 {
		t.Errorf("the histogram has no bars")
	}
	c.shot(t, "rules-health-preview")
	c.run(t, "phone width", chromedp.EmulateViewport(390, 844))
	c.shot(t, "rules-health-preview-phone")

	c.run(t, "the segments", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(s.URL+"/segments"),
		chromedp.WaitVisible(chromedp.CSS(`#coverage`)))
	if !strings.Contains(c.text(t, "h1"), "Segments") {
		t.Errorf("the segments page heading is %q", c.text(t, "h1"))
	}
	c.shot(t, "rules-segments")
}
