package session_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/session"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"u1", "u2"} {
			if _, err := db.Exec(`INSERT INTO users (user_id, email, role, recorded_at, updated_at) VALUES ($1, $2, 'csm', 0, 0)`,
				id, id+"@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		token, s, err := session.Create(ctx, db, "u1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(token) != 43 || s.UserID != "u1" || s.ExpiresAt.Sub(s.CreatedAt) != time.Hour {
			t.Fatalf("token %q, session %+v", token, s)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, token).Scan(&n); err != nil || n != 0 {
			t.Errorf("the token is stored as it is (%d, %v)", n, err)
		}
		if got, err := session.Lookup(ctx, db, token); err != nil || got.UserID != "u1" {
			t.Fatalf("Lookup = %+v, %v", got, err)
		}
		for _, bad := range []string{"", "x", token + "x", string(make([]byte, 200))} {
			if _, err := session.Lookup(ctx, db, bad); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("Lookup(%q) = %v", bad, err)
			}
		}

		// Expired sessions are not found, and are deleted when the next one starts.
		old, _, err := session.Create(ctx, db, "u2", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE sessions SET expires_at = $1 WHERE user_id = 'u2'`, time.Now().Add(-time.Minute).Unix()); err != nil {
			t.Fatal(err)
		}
		if _, err := session.Lookup(ctx, db, old); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("expired session: %v", err)
		}
		second, _, err := session.Create(ctx, db, "u1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d sessions after the expired one should have gone, want 2", n)
		}

		if err := session.Delete(ctx, db, token); err != nil {
			t.Fatal(err)
		}
		if _, err := session.Lookup(ctx, db, token); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("deleted session: %v", err)
		}
		if err := session.DeleteUser(ctx, db, "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := session.Lookup(ctx, db, second); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("session of a signed-out user: %v", err)
		}
	})
}

func TestCookie(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	for _, secure := range []bool{false, true} {
		c := session.Cookie("tok", exp, secure)
		if c.Name != session.CookieName || c.Value != "tok" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			c.Secure != secure || c.Path != "/" || c.MaxAge < 3590 || c.MaxAge > 3600 {
			t.Errorf("Cookie(secure=%v) = %+v", secure, c)
		}
		if v := c.String(); v == "" {
			t.Errorf("Cookie(secure=%v) does not serialise: %+v", secure, c)
		}
		cl := session.ClearCookie(secure)
		if cl.MaxAge >= 0 || cl.Value != "" || !cl.HttpOnly || cl.Secure != secure {
			t.Errorf("ClearCookie(%v) = %+v", secure, cl)
		}
	}
}
