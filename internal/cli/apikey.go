package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// APIKeyCmd groups the API key commands.
type APIKeyCmd struct {
	Create APIKeyCreateCmd `cmd:"" help:"Create an API key and print its secret, which is shown only this once."`
	List   APIKeyListCmd   `cmd:"" help:"List API keys (never their secrets)."`
	Revoke APIKeyRevokeCmd `cmd:"" help:"Revoke an API key; it stops working at once."`
}

// APIKeyCreateCmd creates an API key.
type APIKeyCreateCmd struct {
	Scope string `required:"" enum:"read,write,ingest" help:"read (GET only), write (also changes) or ingest (only the Segment-compatible /v1 endpoints)."`
	Name  string `required:"" help:"What will use the key (\"Segment\", \"nightly billing sync\")."`
	User  string `help:"Email of the user the key acts for; the user's role then caps what the key may do. Without it, a service key: read acts as a viewer, write as a manager." placeholder:"EMAIL"`
}

// Run creates the key, records it in the audit log and prints the secret.
func (c APIKeyCreateCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var (
		key    apikey.Key
		secret string
	)
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var userID string
		if c.User != "" {
			u, err := user.GetByEmail(ctx, tx, c.User)
			if errors.Is(err, user.ErrNotFound) {
				return fmt.Errorf("--user %s: no such user (kizuna user list shows them)", c.User)
			}
			if err != nil {
				return err
			}
			userID = u.ID
		}
		if key, secret, err = apikey.Create(ctx, tx, c.Name, apikey.Scope(c.Scope), userID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionCreate, "api_key", key.ID, nil, key)
	})
	if err != nil {
		return err
	}
	// The secret alone on stdout, so that scripts can capture it; the rest
	// goes to stderr.
	fmt.Fprintf(g.stderr, "created API key %s (%s, scope %s); store the secret now, it is not shown again:\n", key.ID, key.Name, key.Scope)
	fmt.Fprintln(g.stdout, secret)
	return nil
}

// APIKeyListCmd lists API keys.
type APIKeyListCmd struct{}

// Run prints one line per key: id, prefix, scope, user, created, last used, revoked, name.
func (APIKeyListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, err := apikey.List(ctx, db)
	if err != nil {
		return err
	}
	emails := map[string]string{}
	users, err := user.List(ctx, db)
	if err != nil {
		return err
	}
	for _, u := range users {
		emails[u.ID] = u.Email
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tSCOPE\tUSER\tCREATED\tLAST USED\tREVOKED\tNAME")
	day := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Format("2006-01-02 15:04")
	}
	for _, k := range keys {
		owner := "-"
		if k.UserID != "" {
			owner = emails[k.UserID]
		}
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Scope, owner, day(&k.CreatedAt),
			day(k.LastUsedAt), day(k.RevokedAt), k.Name)
	}
	return tw.Flush()
}

// APIKeyRevokeCmd revokes an API key.
type APIKeyRevokeCmd struct {
	ID string `arg:"" help:"The key's id (key_…, from kizuna apikey list), not its secret."`
}

// Run revokes the key and records it in the audit log.
func (c APIKeyRevokeCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var after apikey.Key
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		before, err := apikey.Get(ctx, tx, c.ID)
		if errors.Is(err, apikey.ErrNotFound) {
			return fmt.Errorf("no API key %s (kizuna apikey list shows them)", c.ID)
		}
		if err != nil {
			return err
		}
		if after, err = apikey.Revoke(ctx, tx, c.ID); err != nil {
			return err
		}
		if before.RevokedAt != nil {
			return nil
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionRevoke, "api_key", c.ID, before, after)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "revoked API key %s (%s) at %s\n", after.ID, after.Name, after.RevokedAt.Format(time.RFC3339))
	return nil
}
