package ui_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
	"github.com/kizuna-cs/kizuna/internal/web/ui"
)

func TestLoginPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.anon(t)

		// A page needs a session: to the login form, keeping where to go.
		res := b.get("/me")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fme" {
			t.Fatalf("GET /me signed out = %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		res = b.get("/login?next=/me")
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, `name="next" value="/me"`) {
			t.Fatalf("login page = %d: %s", res.StatusCode, res.Body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP = %q", csp)
		}

		// A wrong password shows the form again with the reason, in the
		// browser's language.
		res = b.post("/login", url.Values{"email": {"csm@example.com"}, "password": {"wrong wrong wrong"}, "next": {"/me"}})
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Body, "Wrong email or password.") ||
			!strings.Contains(res.Body, `value="csm@example.com"`) {
			t.Fatalf("wrong password = %d: %s", res.StatusCode, res.Body)
		}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader("email=csm%40example.com&password=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", "ja,en;q=0.5")
		res = b.do(req)
		if !strings.Contains(res.Body, "メールアドレスまたはパスワードが違います。") || !strings.Contains(res.Body, `<html lang="ja">`) {
			t.Errorf("a Japanese browser's failed login is not in Japanese: %s", res.Body)
		}

		// The right one signs in and goes where the user was going.
		res = b.post("/login", url.Values{"email": {"csm@example.com"}, "password": {testPassword}, "next": {"/me"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me" {
			t.Fatalf("login = %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		res = b.get("/me")
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "csm@example.com") || !strings.Contains(res.Body, "Csm User") {
			t.Fatalf("profile = %d: %s", res.StatusCode, res.Body)
		}
		// Signed in, the login page sends the user on.
		if res := b.get("/login?next=/me"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("login page when signed in = %d", res.StatusCode)
		}
	})
}

func TestLanguageChoice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.as(t, user.RoleViewer)

		res := b.submit("/me", "/me/language", url.Values{"language": {"ja"}, "next": {"/me"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/me" {
			t.Fatalf("set language = %d to %q: %s", res.StatusCode, res.Header.Get("Location"), res.Body)
		}
		res = b.get("/me")
		if !strings.Contains(res.Body, `<html lang="ja">`) || !strings.Contains(res.Body, "<h1>プロフィール</h1>") {
			t.Fatalf("after choosing Japanese: %s", res.Body)
		}
		u, err := user.GetByEmail(context.Background(), db, "viewer@example.com")
		if err != nil || u.Language != "ja" {
			t.Fatalf("stored language = %q, %v", u.Language, err)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE object_type = 'user_language' AND object_id = $1`, u.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("audit entries = %d, %v; want 1", n, err)
		}

		// An unknown language is refused, and a redirect never leaves the site.
		if res := b.submit("/me", "/me/language", url.Values{"language": {"xx"}}); res.StatusCode != http.StatusBadRequest {
			t.Errorf("language xx = %d", res.StatusCode)
		}
		res = b.submit("/me", "/me/language", url.Values{"language": {"en"}, "next": {"//evil.example/"}})
		if res.Header.Get("Location") != "/" {
			t.Errorf("next to another site redirected to %q", res.Header.Get("Location"))
		}
	})
}

func TestFormsNeedTheCSRFToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.as(t, user.RoleAdmin)
		for _, tt := range []struct {
			name  string
			token string
		}{{"none", ""}, {"another session's", strings.Repeat("0", 32)}} {
			res := b.post("/me/language", url.Values{"language": {"ja"}, "csrf": {tt.token}})
			if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "This form has expired") {
				t.Errorf("%s token = %d: %s", tt.name, res.StatusCode, res.Body)
			}
		}
		u, _ := user.GetByEmail(context.Background(), db, "admin@example.com")
		if u.Language != "" {
			t.Errorf("a refused form changed the language to %q", u.Language)
		}
		// Another site's form is refused before the token is looked at.
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/me/language", strings.NewReader("language=ja&csrf="+b.csrf("/me")))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if res := b.do(req); res.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site form = %d", res.StatusCode)
		}
		// A signed-out form post gets a page saying so, not a redirect
		// that would lose the form.
		if res := s.anon(t).post("/me/language", url.Values{"language": {"ja"}}); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("signed-out post = %d", res.StatusCode)
		}
	})
}

func TestStaticFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db)
		b := s.as(t, user.RoleViewer)
		page := b.get("/me").Body
		m := regexp.MustCompile(`/static/app\.css\?v=([0-9a-f]+)`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no versioned stylesheet link in %s", page)
		}
		res := b.get("/static/app.css?v=" + m[1])
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(res.Body, ".band-red") {
			t.Errorf("versioned CSS = %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}
		if res := b.get("/static/app.css?v=old"); res.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("an old version is cached: %q", res.Header.Get("Cache-Control"))
		}
		for _, p := range []string{"/static/nope.css", "/static/", "/static/../locales/ja/core.json"} {
			if res := b.get(p); res.StatusCode == http.StatusOK {
				t.Errorf("GET %s = 200 with %.80q", p, res.Body)
			}
		}
	})
}

// TestCatalog checks that every string the templates and the Go code pass
// to the translator has a Japanese entry with the same format verbs.
func TestCatalog(t *testing.T) {
	ja := map[string]string{}
	files, _ := filepath.Glob("locales/ja/*.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range m {
			ja[k] = v
		}
	}
	verbs := regexp.MustCompile(`%[-+# 0-9.*]*[a-zA-Z%]`)
	for k, v := range ja {
		if a, b := verbs.FindAllString(k, -1), verbs.FindAllString(v, -1); strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("%q → %q: format verbs %v, want %v", k, v, b, a)
		}
	}
	uses := map[string]string{} // key → where
	tmplKey := regexp.MustCompile(`\bt\s+"((?:[^"\\]|\\.)*)"`)
	goKey := regexp.MustCompile(`\.T\(\s*"((?:[^"\\]|\\.)*)"`)
	fs.WalkDir(os.DirFS("."), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var re *regexp.Regexp
		switch {
		case strings.HasSuffix(p, ".html"):
			re = tmplKey
		case strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go"):
			re = goKey
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			uses[strings.ReplaceAll(m[1], `\"`, `"`)] = p
		}
		return nil
	})
	if len(uses) < 20 {
		t.Fatalf("found only %d translated strings: the scan is broken", len(uses))
	}
	// The validation messages of the packages whose errors the forms show
	// translated (Locale.Reason): the formats of their invalid(field,
	// format, …) calls.
	reasonKey := regexp.MustCompile(`\binvalid\(.*?,\s*"((?:[^"\\]|\\.)*)"`)
	reasons := 0
	for _, dir := range []string{"../../feedback", "../../survey", "../../program", "../../successplan", "../../prospect"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range reasonKey.FindAllStringSubmatch(string(data), -1) {
				uses[strings.ReplaceAll(m[1], `\"`, `"`)] = f
				reasons++
			}
		}
	}
	if reasons < 50 {
		t.Fatalf("found only %d validation messages in the domain packages: the scan is broken", reasons)
	}
	for k, where := range uses {
		if _, ok := ja[k]; !ok {
			t.Errorf("%s: %q has no Japanese translation in locales/ja", where, k)
		}
	}
}

// TestBrowserLanguage: the language a page speaks when no one chose one,
// as the UI and the survey respondent's pages choose it.
func TestBrowserLanguage(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", "en"},
		{"ja", "ja"},
		{"ja-JP,ja;q=0.9", "ja"},
		{"en-US,en;q=0.9,ja;q=0.5", "en"},
		{"fr-FR,ja;q=0.8,en;q=0.5", "ja"},
		{"de", "en"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Language", c.header)
		if got := ui.BrowserLanguage(r); got != c.want {
			t.Errorf("Accept-Language %q: %s, want %s", c.header, got, c.want)
		}
	}
}
