// Package web is Kizuna's HTTP server.
package web

import (
	"context"
	"errors"
	"io"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Run serves db on addr until ctx is cancelled, then shuts down gracefully.
// It writes the URL it listens on to log.
func Run(ctx context.Context, db *store.DB, addr string, log io.Writer) error {
	return errors.New("not implemented yet")
}
