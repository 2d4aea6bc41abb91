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
	base := demo.DefaultHealthModel
	variants := map[string]func(m *health.Model){
		"as is":        func(m *health.Model) {},
		"sentiment 6":  func(m *health.Model) { m.Measures[0].Weight = 6 },
		"sentiment only": func(m *health.Model) { m.Measures = m.Measures[:1] },
		"segment 3, sentiment 6":  func(m *health.Model) { m.Measures[0].Weight = 6; m.Measures[5].Weight = 3 },
	}
	for name, edit := range variants {
		m := base
		m.Measures = append([]health.Measure(nil), base.Measures...)
		edit(&m)
		bt, err := health.RunBacktest(ctx, db, m, now)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v", name, *bt.AUC)
	}
}
