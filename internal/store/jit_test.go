package store_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestPostgresJIT: Kizuna's PostgreSQL connections run with JIT
// compilation off, on every pooled connection, unless the URL sets jit.
func TestPostgresJIT(t *testing.T) {
	if !storetest.PostgresAvailable() {
		t.Skip("PostgreSQL only; set " + storetest.EnvPostgres)
	}
	ctx := context.Background()
	url := storetest.PostgresURL(t)
	for _, tc := range []struct{ url, want string }{{url, "off"}, {url + "&jit=on", "on"}} {
		db, err := store.Open(ctx, tc.url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Hold several connections at once, so that the pool opens more
		// than one.
		var conns []interface{ Close() error }
		for i := range 3 {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			var jit string
			if err := c.QueryRowContext(ctx, "SHOW jit").Scan(&jit); err != nil {
				t.Fatal(err)
			}
			if jit != tc.want {
				t.Errorf("connection %d of %s: jit = %s, want %s", i, tc.want, jit, tc.want)
			}
		}
		for _, c := range conns {
			c.Close()
		}
		db.Close()
	}
}
