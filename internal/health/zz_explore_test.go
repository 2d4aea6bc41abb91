package health_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/demo"
	"github.com/kizuna-cs/kizuna/internal/health"
	"github.com/kizuna-cs/kizuna/internal/store"
)

func TestZZExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	_, statErr := os.Stat("/tmp/hdemo.db")
	db, err := store.Open(ctx, "/tmp/hdemo.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if statErr != nil {
		if _, err := demo.Generate(ctx, db, demo.Config{Seed: 7, Scale: 0.3, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ms := range demo.DefaultHealthModel.Measures {
		m := health.Model{ID: "x", Measures: []health.Measure{ms}}
		bt, err := health.RunBacktest(ctx, db, m, now)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v", ms.Name, *bt.AUC)
	}
	bt, _ := health.RunBacktest(ctx, db, demo.DefaultHealthModel, now)
	t.Logf("all: %v", *bt.AUC)
}
