package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// TestAPIKeyCommands runs the apikey commands' Run methods (cli.go wires
// them up as `kizuna apikey ...`) on both databases.
func TestAPIKeyCommands(t *testing.T) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "k.db") },
	}
	if storetest.PostgresAvailable() {
		dsns["postgres"] = func(t *testing.T) string { return storetest.PostgresURL(t) }
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var out, errb bytes.Buffer
			g := &Globals{DB: dsn(t), stdout: &out, stderr: &errb}
			db, err := store.Open(ctx, g.DB, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := user.Create(ctx, db, "ops@example.com", "Ops", user.RoleAdmin, "a long password"); err != nil {
				t.Fatal(err)
			}

			if err := (APIKeyCreateCmd{Scope: "ingest", Name: "Segment", User: "ops@example.com"}).Run(ctx, g); err != nil {
				t.Fatal(err)
			}
			secret := strings.TrimSpace(out.String())
			if !strings.HasPrefix(secret, apikey.Prefix) || strings.Contains(secret, "\n") {
				t.Fatalf("stdout = %q, want the secret alone", out.String())
			}
			k, err := apikey.Authenticate(ctx, db, secret)
			if err != nil || k.Scope != apikey.ScopeIngest || k.UserID == "" || k.Name != "Segment" {
				t.Fatalf("the printed secret authenticates as %+v, %v", k, err)
			}

			out.Reset()
			if err := (APIKeyListCmd{}).Run(ctx, g); err != nil {
				t.Fatal(err)
			}
			if l := out.String(); !strings.Contains(l, k.ID) || !strings.Contains(l, "ops@example.com") || strings.Contains(l, secret) {
				t.Errorf("list = %q", l)
			}

			out.Reset()
			if err := (APIKeyRevokeCmd{ID: k.ID}).Run(ctx, g); err != nil || !strings.Contains(out.String(), "revoked API key "+k.ID) {
				t.Fatalf("revoke = %v, %q", err, out.String())
			}
			if _, err := apikey.Authenticate(ctx, db, secret); err != apikey.ErrRevoked {
				t.Errorf("after revoke, Authenticate = %v", err)
			}

			for _, bad := range []interface {
				Run(context.Context, *Globals) error
			}{
				APIKeyCreateCmd{Scope: "read", Name: "x", User: "nobody@example.com"},
				APIKeyRevokeCmd{ID: "key_nope"},
			} {
				if err := bad.Run(ctx, g); err == nil {
					t.Errorf("%+v succeeded", bad)
				}
			}

			es, err := audit.List(ctx, db, audit.Filter{ObjectType: "api_key", ObjectID: k.ID, Oldest: true})
			if err != nil || len(es) != 2 || es[0].Action != "create" || es[1].Action != "revoke" || !strings.HasPrefix(es[0].Actor, "cli:") {
				t.Errorf("audit = %+v, %v", es, err)
			}
		})
	}
}
