package ui

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestWarm: after Warm the dashboard's figures for everyone are in the
// cache, and no warmer failed (a failure is logged).
func TestWarm(t *testing.T) {
	var logs strings.Builder
	u, err := New(storetest.SQLite(t), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	u.Register(http.NewServeMux())
	if len(u.warmers) != 2 {
		t.Fatalf("%d warmers, want 2 (the dashboard and the accounts list)", len(u.warmers))
	}
	u.Warm(context.Background())
	e, ok := dashCache.entries.Load(dashKey{u, ""})
	if !ok || !e.(*swrEntry[*dashData]).ok {
		t.Errorf("the dashboard's figures are not cached after Warm")
	}
	if strings.Contains(logs.String(), "warm") {
		t.Errorf("a warmer failed: %s", logs.String())
	}
}
