package demo_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestDemoSegments checks that a demo database starts with its four
// segments, each with members, and that enterprise holds exactly the
// current customers whose segment attribute says enterprise.
func TestDemoSegments(t *testing.T) {
	db := storetest.SQLite(t)
	generate(t, db, 2, 0.05)
	ctx := context.Background()
	list, err := segment.List(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
		if s.Members == 0 {
			t.Errorf("segment %s has no members", s.ID)
		}
	}
	if len(ids) != 4 || ids[0] != "at_risk" || ids[1] != "champions" || ids[2] != "enterprise" || ids[3] != "onboarding" {
		t.Fatalf("segments = %v", ids)
	}
	var want int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT a.account_id) FROM account_attributes a
		JOIN subscription_periods p ON p.account_id = a.account_id AND p.mrr_minor > 0 AND p.start_at <= $1 AND (p.end_at IS NULL OR p.end_at > $1)
		WHERE a.name = 'segment' AND a.value = 'enterprise'`, anchor.Unix()).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if list[2].Members != want {
		t.Errorf("enterprise has %d members; %d current enterprise customers", list[2].Members, want)
	}
}
