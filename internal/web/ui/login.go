package ui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// loginView is the login form's data.
type loginView struct {
	Next, Email, Error string
}

// loginPage serves GET /login. The form posts to POST /login, which the
// server's login handler answers (it is also the API's way to a session);
// when that fails for a browser, it calls LoginFailed.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	rq := u.anonymous(r)
	if signed, _, err := u.request(r); err == nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		_ = signed
		return
	}
	v := loginView{Next: localPath(r.URL.Query().Get("next"))}
	if err := u.render(w, rq, http.StatusOK, "login", rq.Loc.T("Sign in"), v); err != nil {
		u.fail(w, rq, err)
	}
}

// LoginFailed renders the login form again with the reason a sign-in
// failed, for a browser that posted the form.
func (u *UI) LoginFailed(w http.ResponseWriter, r *http.Request, status int, reason string) {
	rq := u.anonymous(r)
	msg := rq.Loc.T("Wrong email or password.")
	if status == http.StatusBadRequest {
		msg = rq.Loc.T("Enter your email and password.")
	} else if status == http.StatusTooManyRequests {
		// The server set Retry-After, in seconds.
		secs, _ := strconv.Atoi(w.Header().Get("Retry-After"))
		if mins := (secs + 59) / 60; mins > 1 {
			msg = rq.Loc.T("Too many failed sign-ins. Try again in %d minutes.", mins)
		} else {
			msg = rq.Loc.T("Too many failed sign-ins. Try again in a minute.")
		}
	} else if status >= 500 {
		msg = rq.Loc.T("Something went wrong on the server; the server log has the details.")
	}
	v := loginView{Next: localPath(r.PostFormValue("next")), Email: r.PostFormValue("email"), Error: msg}
	if err := u.render(w, rq, status, "login", rq.Loc.T("Sign in"), v); err != nil {
		u.fail(w, rq, err)
	}
}

// WantsHTML reports whether r comes from a browser's form rather than a
// script: it accepts HTML.
func WantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// localPath returns p when it is a path on this site, else "/".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}

// meView is the profile page's data.
type meView struct {
	Languages []langOption
}

type langOption struct {
	Value, Label string
	Selected     bool
}

// me serves GET /me: who is signed in, and their language.
func (u *UI) me(w http.ResponseWriter, rq *Request) error {
	opts := []langOption{{Value: "", Label: rq.Loc.T("Follow the browser"), Selected: rq.User.Language == ""},
		{Value: "en", Label: "English", Selected: rq.User.Language == "en"},
		{Value: "ja", Label: "日本語", Selected: rq.User.Language == "ja"}}
	return u.render(w, rq, http.StatusOK, "me", rq.Loc.T("Your profile"), meView{Languages: opts})
}

// setLanguage serves POST /me/language, from the profile page or the
// language switch in the header.
func (u *UI) setLanguage(w http.ResponseWriter, rq *Request) error {
	lang := rq.PostFormValue("language")
	err := user.SetLanguage(rq.Context(), u.db, rq.User.ID, lang)
	if err != nil && !errors.Is(err, user.ErrNotFound) {
		if lang != "" && lang != "en" && lang != "ja" {
			return Errorf(http.StatusBadRequest, rq.Loc.T("Unknown language %q.", lang))
		}
		return err
	}
	if err := audit.Record(rq.Context(), u.db, audit.UserActor(rq.User.Email), "update", "user_language", rq.User.ID,
		map[string]string{"language": rq.User.Language}, map[string]string{"language": lang}); err != nil {
		return err
	}
	redirect(w, rq.Request, localPath(rq.PostFormValue("next")), "")
	return nil
}
