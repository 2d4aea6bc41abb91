package demo

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestDemoPlaybooksSave(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := writePlaybooks(ctx, db, now); err != nil {
		t.Fatal(err)
	}
	list, err := playbook.List(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("%d playbooks, want 3", len(list))
	}
	for _, p := range list {
		if !p.Enabled || p.HoldoutShare != 0.1 || !p.CreatedAt.Equal(now) {
			t.Errorf("%s: enabled %t, holdout %v, created %v", p.ID, p.Enabled, p.HoldoutShare, p.CreatedAt)
		}
	}
}
