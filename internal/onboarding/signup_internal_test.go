package onboarding

import (
	"context"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
)

// TestSignupDaysOnlyTheIDs: when the ids are read by key range
// (account.Where), an account in the range that was not asked for (here:
// one asked for is gone, another fills its place) is not in the answer,
// for the stage evaluates every account of it.
func TestSignupDaysOnlyTheIDs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signup := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)
		for _, id := range []string{"a", "ab", "c"} {
			if err := account.Upsert(ctx, db, account.Account{ID: id, Name: id, SignupAt: &signup}); err != nil {
				t.Fatal(err)
			}
		}
		ids := []string{"a", "b", "c"} // b is gone; ab sorts between
		if cond, _, err := account.Where(ctx, db, "account_id", ids, 1); err != nil {
			t.Fatal(err)
		} else if cond != "account_id BETWEEN $1 AND $2" {
			t.Fatalf("the ids are not read by range (%s): the test tests nothing", cond)
		}
		got, err := signupDays(ctx, db, ids, signup.AddDate(0, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		day := store.Day(signup.Unix())
		if len(got) != 2 || got["a"] != day || got["c"] != day {
			t.Errorf("signupDays = %v, want a and c on day %d", got, day)
		}
	})
}
