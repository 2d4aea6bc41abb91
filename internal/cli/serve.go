package cli

import (
	"context"

	"github.com/kizuna-cs/kizuna/internal/web"
)

// ServeCmd runs the server.
type ServeCmd struct {
	Addr string `name:"addr" env:"KIZUNA_ADDR" default:":8080" help:"Address to listen on, host:port (\":8080\" means every interface)."`
}

// Run opens the database and serves it until SIGINT or SIGTERM, then lets
// in-flight requests finish. It logs to standard error.
func (c ServeCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return web.Run(ctx, db, c.Addr, g.stderr)
}
