package ui_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// The browser tests drive Debian's chromium (apt-get install chromium;
// .ci/run installs it). They fail when it is missing, unless
// KIZUNA_BROWSER_TESTS=off says to leave them out on purpose.
// Screenshots go to testdata/screenshots (or $KIZUNA_SCREENSHOTS) for a
// person to look at.

// chrome is a headless browser on one site that records what must fail a
// test: console errors, uncaught exceptions, errors the browser logs (a
// refused Content-Security-Policy, a failed load) and any request to
// another origin.
type chrome struct {
	ctx  context.Context
	site *site

	mu       sync.Mutex
	problems []string
}

func newChrome(t *testing.T, s *site) *chrome {
	t.Helper()
	if os.Getenv("KIZUNA_BROWSER_TESTS") == "off" {
		t.Skip("KIZUNA_BROWSER_TESTS=off: the chromium tests are left out on purpose; .ci/run installs chromium and runs them")
	}
	bin := os.Getenv("KIZUNA_CHROMIUM")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Fatal("chromium is not installed (apt-get install chromium), or set KIZUNA_BROWSER_TESTS=off")
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	c := &chrome{site: s}
	host := strings.TrimPrefix(s.URL, "http://")
	// The listener runs in the tab's event loop: it only records.
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				c.problem("console error: %s", strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			c.problem("uncaught exception: %s %s", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				c.problem("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			u, err := url.Parse(ev.Request.URL)
			if err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ws" || u.Scheme == "wss") && u.Host != host {
				c.problem("request to another origin: %s", ev.Request.URL)
			}
		}
	}))
	c.ctx = ctx
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelA()
	})
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.problems {
			t.Error(p)
		}
	})
	return c
}

func (c *chrome) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// stepTimeout bounds one run of actions.
const stepTimeout = 60 * time.Second

// run runs actions, failing the test on an error.
func (c *chrome) run(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value.
func value[T any](t *testing.T, c *chrome, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// signIn opens path, which sends the browser to the login form, signs in
// as the user of role and waits for the page at path.
func (c *chrome) signIn(t *testing.T, role, path string) {
	t.Helper()
	c.run(t, "sign in as "+role,
		chromedp.Navigate(c.site.URL+path),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), role+"@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
		chromedp.Click(chromedp.CSS(`form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top`)),
	)
}

// shot saves a screenshot of the whole page as NAME.png.
func (c *chrome) shot(t *testing.T, name string) {
	t.Helper()
	dir := os.Getenv("KIZUNA_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png := value(t, c, "screenshot "+name, chromedp.FullScreenshot(100))
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// text returns the text of the first visible element matching sel.
func (c *chrome) text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(value(t, c, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

func TestBrowserSignInAndJapanese(t *testing.T) {
	s := newSite(t, storetest.SQLite(t))
	c := newChrome(t, s)
	c.signIn(t, user.RoleCSM, "/me")
	if got := c.text(t, "h1"); got != "Your profile" {
		t.Fatalf("after sign-in the page says %q", got)
	}
	c.shot(t, "profile-en")

	// The language switch in the header turns the UI Japanese, and it stays so.
	c.run(t, "switch to Japanese", chromedp.Click(chromedp.CSS(`.lang-switch button`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] h1`)))
	if got := c.text(t, "h1"); got != "プロフィール" {
		t.Fatalf("in Japanese the heading is %q", got)
	}
	c.run(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] h1`)))
	c.shot(t, "profile-ja")

	// On a phone the navigation folds into a menu.
	c.run(t, "phone width", chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(s.URL+"/me"), chromedp.WaitVisible(chromedp.CSS(`header.top`)))
	if value(t, c, "menu state", chromedp.Evaluate[bool](`document.querySelector("details.menu").open`)) {
		t.Errorf("the menu is open on a phone")
	}
	c.shot(t, "profile-phone")

	c.run(t, "sign out", chromedp.Click(chromedp.CSS(`header form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
	if value(t, c, "header after sign-out", chromedp.Evaluate[bool](`document.querySelector("header.top") !== null`)) {
		t.Errorf("signed out, the page still has the header")
	}
}
