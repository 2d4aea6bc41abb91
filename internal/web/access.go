package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/session"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// Who may do what.
//
// Roles: viewers and CSMs read everything; CSMs also write the activity of
// any account (notes and handoffs; tasks later) — any account, not only
// their own book, because CSMs cover for each other and the team is small;
// managers and admins write everything; only admins manage users and API
// keys. Managers and admins read the audit log.
//
// API keys: read keys may only read, write keys may also change data,
// ingest keys may not use /api/v1 at all (only the Segment-compatible /v1
// endpoints). A key that acts for a user is further capped by that user's
// role; a service key (no user) acts as a viewer (read) or a manager (write).

// need is who may call an operation.
type need struct {
	write bool   // it changes data: API keys need the write scope
	role  string // the least role that may call it
}

var (
	needRead     = need{role: user.RoleViewer}
	needAudit    = need{role: user.RoleManager}
	needWrite    = need{write: true, role: user.RoleManager}
	needActivity = need{write: true, role: user.RoleCSM}
	needAdmin    = need{role: user.RoleAdmin}
	needAdminSet = need{write: true, role: user.RoleAdmin}
)

// doc describes the need for the OpenAPI document.
func (n need) doc() string {
	s := "Requires the role " + n.role + " or higher"
	if n.role == user.RoleAdmin {
		s = "Requires the role admin"
	}
	if n.write {
		return s + "; API keys need the write scope."
	}
	return s + "; API keys need the read or write scope."
}

// principal is who a request acts for.
type principal struct {
	user  user.User   // the signed-in user, or the API key's user; zero for a service key
	key   *apikey.Key // the API key used, if any
	role  string      // the role the request has
	actor string      // as the audit log names it
}

// may reports why p may not call an operation with need n (nil if it may).
func (p *principal) may(n need) error {
	if p.key != nil {
		switch {
		case p.key.Scope == apikey.ScopeIngest:
			return errors.New("an ingest key may only send events to the Segment-compatible /v1 endpoints")
		case n.write && !p.key.Scope.Permits(apikey.ScopeWrite):
			return errors.New("this API key has the read scope; changes need a key with the write scope")
		}
	}
	if !user.AtLeast(p.role, n.role) {
		return fmt.Errorf("the role %s may not do this (it needs %s or higher)", p.role, n.role)
	}
	return nil
}

// email is the principal's user's email, "" for a service key.
func (p *principal) email() string { return p.user.Email }

type principalKey struct{}

// principalFrom returns the principal the authorising middleware stored in ctx.
func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	if p == nil {
		// Only operations without a need lack one, and they do not ask.
		return &principal{actor: "anonymous"}
	}
	return p
}

// authError is a failed authentication: 401 with a detail, or, for err,
// a failure of the server (500).
type authError struct {
	detail string
	err    error
	// retry > 0: too many failed password checks, 429 with Retry-After.
	retry time.Duration
}

// write answers a failed authentication with its status: 401 with the
// challenge, or 429 with Retry-After; errors are the caller's.
func (e *authError) write(w http.ResponseWriter, problem func(status int, detail string)) {
	if e.retry > 0 {
		w.Header().Set("Retry-After", retryAfter(e.retry))
		problem(http.StatusTooManyRequests, e.detail)
		return
	}
	challenge(w.Header())
	problem(http.StatusUnauthorized, e.detail)
}

// retryAfter is d in whole seconds, rounded up, for a Retry-After header.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

// credentialsHelp is what a request without credentials is told.
const credentialsHelp = "credentials required: an API key (Authorization: Bearer kz_…), " +
	"HTTP Basic with a user's email and password, or a session from POST /login"

// authenticate finds who a request comes from: an API key (Bearer), a
// user's email and password (Basic), or a session cookie, in that order.
func (s *Server) authenticate(r *http.Request) (*principal, *authError) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			return s.keyPrincipal(ctx, strings.TrimSpace(cred))
		case strings.EqualFold(scheme, "Basic"):
			email, password, ok := r.BasicAuth()
			if !ok {
				return nil, &authError{detail: "malformed HTTP Basic credentials"}
			}
			u, err := s.auth.check(ctx, email, password, s.clientAddr(r))
			if errors.Is(err, user.ErrBadCredentials) {
				return nil, &authError{detail: "wrong email or password"}
			}
			var te *throttledError
			if errors.As(err, &te) {
				return nil, &authError{detail: te.Error(), retry: te.retry}
			}
			if err != nil {
				return nil, &authError{err: err}
			}
			return &principal{user: u, role: u.Role, actor: audit.UserActor(u.Email)}, nil
		}
		return nil, &authError{detail: "unsupported authorization scheme " + scheme + "; use Bearer with an API key"}
	}
	if c, err := r.Cookie(session.CookieName); err == nil {
		sess, err := session.Lookup(ctx, s.db, c.Value)
		if errors.Is(err, session.ErrNotFound) {
			return nil, &authError{detail: "the session has expired or was signed out; sign in again"}
		}
		if err != nil {
			return nil, &authError{err: err}
		}
		u, err := user.Get(ctx, s.db, sess.UserID)
		if err != nil {
			return nil, &authError{err: err}
		}
		return &principal{user: u, role: u.Role, actor: audit.UserActor(u.Email)}, nil
	}
	return nil, &authError{detail: credentialsHelp}
}

// keyPrincipal authenticates an API key.
func (s *Server) keyPrincipal(ctx context.Context, secret string) (*principal, *authError) {
	k, err := apikey.Authenticate(ctx, s.db, secret)
	switch {
	case errors.Is(err, apikey.ErrInvalid):
		return nil, &authError{detail: "unknown API key"}
	case errors.Is(err, apikey.ErrRevoked):
		return nil, &authError{detail: "this API key was revoked"}
	case err != nil:
		return nil, &authError{err: err}
	}
	p := &principal{key: &k, actor: audit.KeyActor(k.ID)}
	switch {
	case k.UserID != "":
		u, err := user.Get(ctx, s.db, k.UserID)
		if err != nil {
			return nil, &authError{err: err}
		}
		p.user, p.role = u, u.Role
	case k.Scope == apikey.ScopeWrite:
		p.role = user.RoleManager
	case k.Scope == apikey.ScopeRead:
		p.role = user.RoleViewer
	}
	return p, nil
}

// challenge sets the WWW-Authenticate header of a 401: the schemes a
// client may use.
func challenge(h http.Header) {
	h.Add("WWW-Authenticate", `Bearer realm="kizuna"`)
	h.Add("WWW-Authenticate", `Basic realm="kizuna"`)
}

// authorize is the huma middleware that lets a request through to an
// operation only when its principal meets the operation's need. It runs
// before huma reads the body, so strangers cannot make the server parse
// anything. Operations without a need (none so far) are public.
func (s *Server) authorize(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		n, ok := ctx.Operation().Metadata[metaNeed].(need)
		if !ok {
			next(ctx)
			return
		}
		// Customer data must not stay in shared caches.
		ctx.SetHeader("Cache-Control", "no-store")
		r, w := humago.Unwrap(ctx)
		p, aerr := s.authenticate(r)
		if aerr != nil {
			if aerr.err != nil {
				s.logError(r, aerr.err)
				huma.WriteErr(api, ctx, http.StatusInternalServerError, internalDetail)
				return
			}
			aerr.write(w, func(status int, detail string) { huma.WriteErr(api, ctx, status, detail) })
			return
		}
		if err := p.may(n); err != nil {
			huma.WriteErr(api, ctx, http.StatusForbidden, err.Error())
			return
		}
		if name, value, ok := badQueryParam(r); ok {
			huma.WriteErr(api, ctx, http.StatusBadRequest, "query parameter "+name+": must be UTF-8 text without NUL bytes",
				&huma.ErrorDetail{Message: "must be UTF-8 text without NUL bytes", Location: "query." + name, Value: value})
			return
		}
		next(huma.WithValue(ctx, principalKey{}, p))
	}
}

// badQueryParam finds a query parameter whose value is not text a database
// can compare: invalid UTF-8, or a NUL byte, which PostgreSQL rejects with
// an error rather than finding nothing.
func badQueryParam(r *http.Request) (name, value string, bad bool) {
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			if !validText(v) {
				return k, v, true
			}
		}
	}
	return "", "", false
}

// allowed answers a route outside huma (/metrics) the way authorize answers
// API operations: it reports whether the request may go on, having written
// the 401, 403 or 500 itself otherwise.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, n need) bool {
	w.Header().Set("Cache-Control", "no-store")
	p, aerr := s.authenticate(r)
	if aerr != nil {
		if aerr.err != nil {
			s.serverError(w, r, aerr.err)
			return false
		}
		aerr.write(w, func(status int, detail string) { writeProblem(w, status, detail) })
		return false
	}
	if err := p.may(n); err != nil {
		writeProblem(w, http.StatusForbidden, err.Error())
		return false
	}
	return true
}
