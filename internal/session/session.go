// Package session owns login sessions: after a user signs in with a
// password, the browser holds a random token in a cookie and the server
// keeps only the token's SHA-256, the user and an expiry.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// CookieName is the session cookie's name.
const CookieName = "kizuna_session"

// DefaultLifetime is how long a session lasts after sign-in: a working day
// and then some. Sessions do not slide: a stolen cookie stops working at the
// latest then, whatever its thief does.
const DefaultLifetime = 12 * time.Hour

// tokenBytes is the token's length: 256 bits, beyond any guessing, which is
// also why a fast hash suffices to store it.
const tokenBytes = 32

// ErrNotFound is returned for a token that names no live session (unknown,
// expired or signed out).
var ErrNotFound = errors.New("no such session")

// Session is a signed-in browser.
type Session struct {
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Create starts a session for a user and returns its token, to be sent in
// the cookie and nowhere else. It also deletes expired sessions, so the
// table does not grow without bound.
func Create(ctx context.Context, q store.Querier, userID string, lifetime time.Duration) (string, Session, error) {
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	var b [tokenBytes]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now().UTC().Truncate(time.Second)
	s := Session{UserID: userID, CreatedAt: now, ExpiresAt: now.Add(lifetime)}
	if _, err := DeleteExpired(ctx, q); err != nil {
		return "", Session{}, err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hash(token), userID, s.CreatedAt.Unix(), s.ExpiresAt.Unix()); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return token, s, nil
}

// Lookup returns the live session a token names, or ErrNotFound.
func Lookup(ctx context.Context, q store.Querier, token string) (Session, error) {
	if len(token) == 0 || len(token) > 100 {
		return Session{}, ErrNotFound
	}
	var s Session
	var created, expires int64
	err := q.QueryRowContext(ctx, `SELECT user_id, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
		hash(token), store.Now()).Scan(&s.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
	return s, nil
}

// Delete ends the session a token names (signing out); an unknown token is not an error.
func Delete(ctx context.Context, q store.Querier, token string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash(token)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUser ends every session of a user (after a password change or a role change).
func DeleteUser(ctx context.Context, q store.Querier, userID string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("delete sessions of %s: %w", userID, err)
	}
	return nil
}

// DeleteExpired removes sessions past their expiry and returns how many.
func DeleteExpired(ctx context.Context, q store.Querier) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, store.Now())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// Cookie is the cookie that carries a session token until expires. It is
// HttpOnly (no script can read it), SameSite=Lax (other sites' forms and
// scripts do not send it), and Secure when the site is served over TLS:
// secure must be true then, and may only be false on plain HTTP, where a
// browser would drop a Secure cookie.
func Cookie(token string, expires time.Time, secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		MaxAge:   int(time.Until(expires).Seconds()),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// ClearCookie is a cookie that makes the browser forget the session cookie.
func ClearCookie(secure bool) *http.Cookie {
	return &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	}
}
