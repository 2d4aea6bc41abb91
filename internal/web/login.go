package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/session"
	"github.com/kizuna-cs/kizuna/internal/user"
	"github.com/kizuna-cs/kizuna/internal/web/ui"
)

// maxFormBody bounds the login form: an email and a password.
const maxFormBody = 16 << 10

// login serves POST /login: a form with email and password. On success it
// starts a session, sets its cookie and redirects (303) to next, a path on
// this site (default /); otherwise 401, as problem JSON for a script and
// as the login page with the reason for a browser. Cross-origin protection (around every
// route) keeps other sites from signing a browser in to an account of
// theirs (login CSRF).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "the form is too large")
			return
		}
		writeProblem(w, http.StatusBadRequest, "unreadable form: "+err.Error())
		return
	}
	fail := func(status int, detail string) {
		if ui.WantsHTML(r) {
			s.ui.LoginFailed(w, r, status, detail)
			return
		}
		writeProblem(w, status, detail)
	}
	email, password := r.PostForm.Get("email"), r.PostForm.Get("password")
	if email == "" || password == "" {
		fail(http.StatusBadRequest, "email and password are required")
		return
	}
	client := s.clientAddr(r)
	u, err := s.auth.verifyNow(r.Context(), email, password, client)
	if errors.Is(err, user.ErrBadCredentials) {
		s.log.Info("login failed", "email", email, "client", client)
		fail(http.StatusUnauthorized, "wrong email or password")
		return
	}
	var te *throttledError
	if errors.As(err, &te) {
		s.log.Warn("login refused: too many failed sign-ins", "email", email, "client", client)
		w.Header().Set("Retry-After", retryAfter(te.retry))
		fail(http.StatusTooManyRequests, te.Error())
		return
	}
	if err != nil {
		s.logError(r, err)
		fail(http.StatusInternalServerError, internalDetail)
		return
	}
	token, sess, err := session.Create(r.Context(), s.db, u.ID, session.DefaultLifetime)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.Info("login", "email", u.Email)
	http.SetCookie(w, session.Cookie(token, sess.ExpiresAt, s.secureCookie(r)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

// logout serves POST /logout: it ends the session, clears the cookie and
// redirects (303) to the login page. Without a session it does the same.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(session.CookieName); err == nil {
		if err := session.Delete(r.Context(), s.db, c.Value); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	http.SetCookie(w, session.ClearCookie(s.secureCookie(r)))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// secureCookie reports whether the session cookie must be Secure: when the
// request came over TLS, or the operator says a proxy terminates TLS.
func (s *Server) secureCookie(r *http.Request) bool {
	return r.TLS != nil || s.opts.CookieSecure
}

// localPath returns p when it is a path on this site, else "/": a
// redirect target taken from a form must not send the user elsewhere
// ("//evil.example" and "/\evil.example" are other sites to a browser).
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}
