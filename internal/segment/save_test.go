package segment_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestSave: creating computes the membership at once; replacing returns
// the segment before and moves the members; the id's state decides
// between ErrExists and ErrNotFound.
func TestSave(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, id := range []string{"a", "b", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: "Acct " + id}); err != nil {
				t.Fatal(err)
			}
		}
		at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		snaps := []snapshot.Snapshot{{AccountID: "a", ARR: 5000}, {AccountID: "b", ARR: 20000}, {AccountID: "c", ARR: 90000}}
		s := segment.Segment{ID: "big", Name: "Big", Rule: "arr >= 10000"}
		before, after, joined, left, err := segment.Save(ctx, db, s, true, at, snaps)
		if err != nil || before != nil || after.Members != 2 || joined != 2 || left != 0 || after.Rule != "arr >= 10000" {
			t.Fatalf("create: before %v, after %+v, joined %d, left %d, %v", before, after, joined, left, err)
		}
		if _, _, _, _, err := segment.Save(ctx, db, s, true, at, snaps); !errors.Is(err, segment.ErrExists) {
			t.Errorf("create again: %v", err)
		}
		s.Rule, s.Name = "arr >= 50000", "Bigger"
		before, after, joined, left, err = segment.Save(ctx, db, s, false, at.Add(time.Hour), snaps)
		if err != nil || before == nil || before.Rule != "arr >= 10000" || before.Members != 2 || after.Members != 1 ||
			after.Name != "Bigger" || joined != 0 || left != 1 {
			t.Fatalf("replace: before %+v, after %+v, joined %d, left %d, %v", before, after, joined, left, err)
		}
		if _, _, _, _, err := segment.Save(ctx, db, segment.Segment{ID: "all", Name: "All", Rule: "true"}, true, at, snaps); err != nil {
			t.Fatal(err)
		}
		ids, err := segment.MemberIDs(ctx, db)
		if err != nil || !reflect.DeepEqual(ids, map[string][]string{"big": {"c"}, "all": {"a", "b", "c"}}) {
			t.Errorf("member ids = %v, %v", ids, err)
		}
		if _, _, _, _, err := segment.Save(ctx, db, segment.Segment{ID: "gone", Name: "Gone", Rule: "true"}, false, at, snaps); !errors.Is(err, segment.ErrNotFound) {
			t.Errorf("replace a missing segment: %v", err)
		}
	})
}
