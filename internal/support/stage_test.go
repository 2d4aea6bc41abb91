package support_test

import (
	"context"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
)

func mustAccounts(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := account.Upsert(context.Background(), db, account.Account{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
}
