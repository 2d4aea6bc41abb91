// Package ui is Kizuna's web interface: server-rendered pages
// (html/template, embedded) for the people in DESIGN.md's first table, in
// English and Japanese, with charts drawn on the server as SVG. Pages work
// with JavaScript off; static/app.js only enhances them.
//
// A page is one file: a handler registered in Register and a template in
// templates/pages. Handlers read through the domain packages, never through
// the JSON API.
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message/catalog"

	"github.com/kizuna-cs/kizuna/internal/session"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

//go:embed templates static locales
var files embed.FS

// UI serves the pages.
type UI struct {
	db  *store.DB
	log *slog.Logger
	mux *http.ServeMux

	locales map[string]*Locale // by Lang()
	pages   map[string]map[string]*template.Template
	// staticHash versions the static files' URLs, so they can be cached
	// for a year and still change with a new release.
	staticHash string
	// warmers load what the slowest pages cache; see Warm.
	warmers []func(context.Context) error
}

// Warm loads what the slowest pages cache (the dashboard's figures for
// everyone, the accounts list's index), so that the first person to open
// them after a start does not wait seconds on a large database. The
// server calls it once, in the background, when it starts serving.
func (u *UI) Warm(ctx context.Context) {
	for _, w := range u.warmers {
		if err := w(ctx); err != nil && ctx.Err() == nil {
			u.log.Warn("warm the page caches", "err", err)
		}
	}
}

// New parses every template in both languages; an error here is a bug in
// the templates, which a test catches.
func New(db *store.DB, log *slog.Logger) (*UI, error) {
	u := &UI{db: db, log: log, locales: map[string]*Locale{}, pages: map[string]map[string]*template.Template{}}
	b, _, err := loadCatalog(files)
	if err != nil {
		return nil, err
	}
	for _, tag := range langs {
		l := newLocale(tag, catalog.Catalog(b))
		u.locales[l.Lang()] = l
	}
	h := sha256.New()
	fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := fs.ReadFile(files, p)
			h.Write(data)
		}
		return nil
	})
	u.staticHash = hex.EncodeToString(h.Sum(nil))[:12]
	if err := u.parse(); err != nil {
		return nil, err
	}
	return u, nil
}

// parse builds one template set per page and language: the layout, every
// partial and the page, with the functions bound to the language.
func (u *UI) parse() error {
	pages, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return err
	}
	for lang, l := range u.locales {
		u.pages[lang] = map[string]*template.Template{}
		for _, p := range pages {
			name := strings.TrimSuffix(p[len("templates/pages/"):], ".html")
			t, err := template.New(name).Funcs(u.funcs(l)).ParseFS(files, "templates/layout.html", "templates/partials/*.html", p)
			if err != nil {
				return fmt.Errorf("parse %s: %w", p, err)
			}
			u.pages[lang][name] = t
		}
	}
	return nil
}

// Register adds the UI's routes to mux.
func (u *UI) Register(mux *http.ServeMux) {
	u.mux = mux
	mux.HandleFunc("GET /static/", u.static)
	mux.HandleFunc("GET /login", u.loginPage)
	mux.Handle("GET /me", u.page(user.RoleViewer, u.me))
	mux.Handle("POST /me/language", u.action(user.RoleViewer, u.setLanguage))
	registerPages(u)
}

// registerPages registers the pages of each area; each area's routes are
// in its own file.
func registerPages(u *UI) {
	u.registerDashboard() // dashboard.go: /, /metrics
	u.registerAccounts()  // accounts.go: /accounts, /accounts/{id}
	u.registerJourney()   // journey.go: /journey, /onboarding, /prospects, /handoffs, an account's plan
	u.registerRules()     // rules.go: /playbooks, /segments, /health
	u.registerWork()      // work.go: /queue, /import, /settings
	u.registerPrograms()  // programs.go: /programs
	u.registerGoals()     // goals.go: /goals
	u.registerVoice()     // voice.go: /surveys, /feedback, /product-requests
}

// Request is what a page handler gets: the request, the signed-in user and
// their locale.
type Request struct {
	*http.Request
	User   user.User
	Loc    *Locale
	CSRF   string
	Notice string // a one-line message after a redirect (?notice=..., vouched for by a cookie)
}

// handlerFunc serves a page or an action. Returning an error renders the
// error page (a *Error keeps its status and message; anything else is a
// 500 whose details go to the log only).
type handlerFunc func(w http.ResponseWriter, rq *Request) error

// Error is an error with the status and the message a user sees.
type Error struct {
	Status  int
	Message string // already translated
}

func (e *Error) Error() string { return e.Message }

// Errorf is an *Error with a status and a message.
func Errorf(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

// page wraps a GET handler: a session is required (else to the login
// page) and the user's role must be at least min.
func (u *UI) page(min string, h handlerFunc) http.Handler {
	return u.wrap(min, false, h)
}

// action wraps a state-changing handler (POST): as page, and the form must
// carry the session's CSRF token. Cross-origin protection around every
// route already refuses other sites' requests; the token also refuses a
// same-site request forged by another application on the same site.
func (u *UI) action(min string, h handlerFunc) http.Handler {
	return u.wrap(min, true, h)
}

func (u *UI) wrap(min string, csrf bool, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq, token, err := u.request(r)
		if err != nil {
			if errors.Is(err, session.ErrNotFound) {
				if r.Method == http.MethodGet || r.Method == http.MethodHead {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				u.renderError(w, u.anonymous(r), Errorf(http.StatusUnauthorized, u.localeFor(r, "").T("Your session has ended. Sign in again.")))
				return
			}
			u.fail(w, u.anonymous(r), err)
			return
		}
		if !user.AtLeast(rq.User.Role, min) {
			u.renderError(w, rq, Errorf(http.StatusForbidden, rq.Loc.T("Your role (%s) may not do this; it needs %s or above.", rq.Loc.T(rq.User.Role), rq.Loc.T(min))))
			return
		}
		if csrf {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseMultipartForm(maxForm); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				u.renderError(w, rq, Errorf(http.StatusBadRequest, rq.Loc.T("The form could not be read: %s", err.Error())))
				return
			}
			if got := r.PostFormValue("csrf"); got == "" || got != csrfToken(token) {
				u.renderError(w, rq, Errorf(http.StatusForbidden, rq.Loc.T("This form has expired. Reload the page and try again.")))
				return
			}
		}
		if err := h(w, rq); err != nil {
			u.fail(w, rq, err)
		}
	})
}

// maxForm bounds the body of a form (1 MiB); a larger one is refused with
// 400. An upload page will need its own limit.
const maxForm = 1 << 20

// request resolves the session cookie of r.
func (u *UI) request(r *http.Request) (*Request, string, error) {
	c, err := r.Cookie(session.CookieName)
	if err != nil {
		return nil, "", session.ErrNotFound
	}
	s, err := session.Lookup(r.Context(), u.db, c.Value)
	if err != nil {
		return nil, "", err
	}
	us, err := user.Get(r.Context(), u.db, s.UserID)
	if errors.Is(err, user.ErrNotFound) {
		return nil, "", session.ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	rq := &Request{Request: r, User: us, Loc: u.localeFor(r, us.Language), CSRF: csrfToken(c.Value)}
	rq.Notice = vouchedNotice(r)
	return rq, c.Value, nil
}

// anonymous is the Request of someone not signed in.
func (u *UI) anonymous(r *http.Request) *Request {
	return &Request{Request: r, Loc: u.localeFor(r, "")}
}

func (u *UI) localeFor(r *http.Request, chosen string) *Locale {
	tag := pickLocale(r, chosen)
	base, _ := tag.Base()
	if l, ok := u.locales[base.String()]; ok {
		return l
	}
	return u.locales[language.English.String()]
}

// csrfToken is derived from the session token, which only the browser
// holding the (HttpOnly) cookie knows; so it needs no storage and survives
// a restart.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("kizuna csrf\x00" + sessionToken))
	return hex.EncodeToString(sum[:16])
}

// View is the data every template gets: the page's own data in Data.
type View struct {
	Title  string
	Req    *Request
	Nav    []NavItem
	Path   string
	Static string // the static files' version
	Data   any
}

// NavItem is one entry of the navigation.
type NavItem struct {
	Path, Label string
	Active      bool
}

// nav lists the pages in the navigation, in order. An entry shows once its
// page is registered and the user's role may open it.
var nav = []struct {
	path, label, role string
}{
	{"/", "Dashboard", user.RoleViewer},
	{"/queue", "My work", user.RoleCSM},
	{"/accounts", "Accounts", user.RoleViewer},
	{"/journey", "Journey", user.RoleViewer},
	{"/onboarding", "Onboarding", user.RoleViewer},
	{"/prospects", "Prospects", user.RoleViewer},
	{"/playbooks", "Playbooks", user.RoleViewer},
	{"/segments", "Segments", user.RoleViewer},
	{"/health", "Health models", user.RoleViewer},
	{"/metrics", "Metrics", user.RoleViewer},
	{"/programs", "Programs", user.RoleViewer},
	{"/goals", "Goals", user.RoleViewer},
	{"/surveys", "Surveys", user.RoleViewer},
	{"/feedback", "Feedback", user.RoleViewer},
	{"/product-requests", "Product requests", user.RoleViewer},
	{"/import", "Import", user.RoleManager},
	{"/settings", "Settings", user.RoleAdmin},
}

func (u *UI) navFor(rq *Request) []NavItem {
	var out []NavItem
	if rq.User.ID == "" || u.mux == nil {
		return nil
	}
	for _, n := range nav {
		if !user.AtLeast(rq.User.Role, n.role) {
			continue
		}
		if !u.routed(n.path) {
			continue
		}
		active := rq.URL.Path == n.path || (n.path != "/" && strings.HasPrefix(rq.URL.Path, n.path+"/"))
		out = append(out, NavItem{Path: n.path, Label: rq.Loc.T(n.label), Active: active})
	}
	return out
}

// routed reports whether a page answers GET path, so that links to
// pages of other areas appear only once those pages exist.
func (u *UI) routed(path string) bool {
	if u.mux == nil {
		return false
	}
	probe, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return false
	}
	_, pattern := u.mux.Handler(probe)
	return pattern != "" && pattern != "GET /static/"
}

// render executes page with data into w, with status. The page is
// rendered into a buffer first, so a template error becomes a 500 rather
// than half a page.
func (u *UI) render(w http.ResponseWriter, rq *Request, status int, page, title string, data any) error {
	t, ok := u.pages[rq.Loc.Lang()][page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	v := &View{Title: title, Req: rq, Nav: u.navFor(rq), Path: rq.URL.Path, Static: u.staticHash, Data: data}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", rq.Loc.Lang())
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// pageHeaders allow what the pages use, from this origin only: no inline
// script or style, so an injected one does not run (and the browser tests
// fail on the console error it would cause).
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
}

// fail renders err: its own status and message for an *Error, else a 500
// with the details in the log only.
func (u *UI) fail(w http.ResponseWriter, rq *Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		level := slog.LevelError
		if rq.Context().Err() != nil {
			level = slog.LevelInfo
		}
		u.log.Log(rq.Context(), level, "page failed", "path", rq.URL.Path, "err", err)
		e = Errorf(http.StatusInternalServerError, rq.Loc.T("Something went wrong on the server; the server log has the details."))
	}
	u.renderError(w, rq, e)
}

func (u *UI) renderError(w http.ResponseWriter, rq *Request, e *Error) {
	if err := u.render(w, rq, e.Status, "error", rq.Loc.T("Error"), e); err != nil {
		u.log.Error("render error page", "err", err)
		http.Error(w, e.Message, e.Status)
	}
}

// redirect answers a successful action: 303 to path with a notice.
func redirect(w http.ResponseWriter, r *http.Request, path, notice string) {
	if notice != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "notice=" + url.QueryEscape(notice)
		setNotice(w, r, notice)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// noticeCookie vouches for the ?notice= of the page an action redirects
// to: the page shows the notice only when the cookie matches it, so a link
// from elsewhere cannot make Kizuna say a text of its author's choosing.
const noticeCookie = "kizuna_notice"

func noticeSum(notice string) string {
	sum := sha256.Sum256([]byte("kizuna notice\x00" + notice))
	return hex.EncodeToString(sum[:12])
}

// setNotice sets the cookie that vouches for notice, for a minute.
func setNotice(w http.ResponseWriter, r *http.Request, notice string) {
	http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: noticeSum(notice), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// vouchedNotice is the request's ?notice= when the cookie vouches for it.
func vouchedNotice(r *http.Request) string {
	n := r.URL.Query().Get("notice")
	if n == "" {
		return ""
	}
	if c, err := r.Cookie(noticeCookie); err == nil && c.Value == noticeSum(n) {
		return n
	}
	return ""
}

// static serves the embedded static files. A URL carrying the current
// version (?v=…) may be cached for a year.
func (u *UI) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	data, err := fs.ReadFile(files, name)
	if err != nil || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == u.staticHash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
