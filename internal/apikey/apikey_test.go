package apikey_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestPermits(t *testing.T) {
	for _, tt := range []struct {
		key, need apikey.Scope
		want      bool
	}{
		{apikey.ScopeRead, apikey.ScopeRead, true},
		{apikey.ScopeRead, apikey.ScopeWrite, false},
		{apikey.ScopeRead, apikey.ScopeIngest, false},
		{apikey.ScopeWrite, apikey.ScopeRead, true},
		{apikey.ScopeWrite, apikey.ScopeWrite, true},
		{apikey.ScopeWrite, apikey.ScopeIngest, false},
		{apikey.ScopeIngest, apikey.ScopeRead, false},
		{apikey.ScopeIngest, apikey.ScopeWrite, false},
		{apikey.ScopeIngest, apikey.ScopeIngest, true},
		{"root", apikey.ScopeRead, false},
	} {
		if got := tt.key.Permits(tt.need); got != tt.want {
			t.Errorf("%s.Permits(%s) = %v, want %v", tt.key, tt.need, got, tt.want)
		}
	}
	if _, err := apikey.ParseScope("admin"); err == nil {
		t.Error("ParseScope(admin) succeeded")
	}
}

func TestLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(`INSERT INTO users (user_id, email, role, recorded_at, updated_at) VALUES ('u1', 'a@example.com', 'admin', 0, 0)`); err != nil {
			t.Fatal(err)
		}
		k, secret, err := apikey.Create(ctx, db, " Segment ", apikey.ScopeIngest, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "kz_") || len(secret) != 3+52 || k.Prefix != secret[:11] || k.Name != "Segment" || k.UserID != "u1" {
			t.Fatalf("key %+v, secret %q", k, secret)
		}
		// Only the hash is stored.
		var stored string
		if err := db.QueryRow(`SELECT secret_hash FROM api_keys WHERE key_id = $1`, k.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != apikey.Hash(secret) || strings.Contains(stored, secret[3:]) {
			t.Errorf("stored %q", stored)
		}

		got, err := apikey.Authenticate(ctx, db, secret)
		if err != nil || got.ID != k.ID || got.LastUsedAt == nil {
			t.Fatalf("Authenticate = %+v, %v", got, err)
		}
		// A use within the minute is not written again.
		past := time.Now().Add(-30 * time.Second).Unix()
		if _, err := db.Exec(`UPDATE api_keys SET last_used_at = $1`, past); err != nil {
			t.Fatal(err)
		}
		if _, err := apikey.Authenticate(ctx, db, secret); err != nil {
			t.Fatal(err)
		}
		if g, _ := apikey.Get(ctx, db, k.ID); g.LastUsedAt.Unix() != past {
			t.Errorf("last_used_at rewritten within a minute: %v", g.LastUsedAt)
		}

		for _, bad := range []string{"", "kz_", "kz_" + strings.Repeat("a", 52), secret + "x", strings.ToUpper(secret), "Bearer " + secret} {
			if _, err := apikey.Authenticate(ctx, db, bad); !errors.Is(err, apikey.ErrInvalid) {
				t.Errorf("Authenticate(%q) = %v, want ErrInvalid", bad, err)
			}
		}

		k2, _, err := apikey.Create(ctx, db, "reporting", apikey.ScopeRead, "")
		if err != nil {
			t.Fatal(err)
		}
		list, err := apikey.List(ctx, db)
		if err != nil || len(list) != 2 || list[1].UserID != "" && list[0].UserID != "" {
			t.Fatalf("List = %+v, %v", list, err)
		}

		r, err := apikey.Revoke(ctx, db, k.ID)
		if err != nil || r.RevokedAt == nil {
			t.Fatalf("Revoke = %+v, %v", r, err)
		}
		if _, err := apikey.Authenticate(ctx, db, secret); !errors.Is(err, apikey.ErrRevoked) {
			t.Errorf("revoked key: %v", err)
		}
		again, err := apikey.Revoke(ctx, db, k.ID)
		if err != nil || !again.RevokedAt.Equal(*r.RevokedAt) {
			t.Errorf("revoking twice = %+v, %v", again, err)
		}
		if _, err := apikey.Revoke(ctx, db, "key_nope"); !errors.Is(err, apikey.ErrNotFound) {
			t.Errorf("Revoke(unknown) = %v", err)
		}
		if g, err := apikey.Get(ctx, db, k2.ID); err != nil || g.RevokedAt != nil {
			t.Errorf("the other key = %+v, %v", g, err)
		}

		for _, c := range []struct {
			name  string
			scope apikey.Scope
		}{{"", apikey.ScopeRead}, {"x", "root"}} {
			if _, _, err := apikey.Create(ctx, db, c.name, c.scope, ""); err == nil {
				t.Errorf("Create(%q, %q) succeeded", c.name, c.scope)
			}
		}
	})
}
