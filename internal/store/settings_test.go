package store_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

func TestSettingPutGetDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		steps := []struct {
			do         func() (string, error)
			wantBefore string
			wantAfter  string
		}{
			{func() (string, error) { return store.Setting(ctx, db, "test.k") }, "", ""},
			{func() (string, error) { return store.PutSetting(ctx, db, "test.k", "one") }, "", "one"},
			{func() (string, error) { return store.PutSetting(ctx, db, "test.k", "two") }, "one", "two"},
			{func() (string, error) { return store.DeleteSetting(ctx, db, "test.k") }, "two", ""},
			{func() (string, error) { return store.DeleteSetting(ctx, db, "test.k") }, "", ""},
		}
		for i, s := range steps {
			before, err := s.do()
			if err != nil || before != s.wantBefore {
				t.Fatalf("step %d: before = %q, %v; want %q", i, before, err, s.wantBefore)
			}
			if now, err := store.Setting(ctx, db, "test.k"); err != nil || now != s.wantAfter {
				t.Fatalf("step %d: value = %q, %v; want %q", i, now, err, s.wantAfter)
			}
		}
	})
}
