package user_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func TestGet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u, err := user.Create(ctx, db, "Ann@Example.com", "Ann", user.RoleManager, "a long password")
		if err != nil {
			t.Fatal(err)
		}
		for _, get := range []func() (user.User, error){
			func() (user.User, error) { return user.Get(ctx, db, u.ID) },
			func() (user.User, error) { return user.GetByEmail(ctx, db, " ANN@example.com ") },
		} {
			got, err := get()
			if err != nil || got.ID != u.ID || got.Email != "ann@example.com" || got.Role != user.RoleManager {
				t.Errorf("got %+v, %v", got, err)
			}
		}
		if _, err := user.Get(ctx, db, "u_nope"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("Get(unknown) = %v", err)
		}
		if _, err := user.GetByEmail(ctx, db, "bob@example.com"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("GetByEmail(unknown) = %v", err)
		}
	})
}

func TestAtLeast(t *testing.T) {
	for _, tt := range []struct {
		role, min string
		want      bool
	}{
		{"admin", "viewer", true}, {"admin", "admin", true}, {"manager", "admin", false}, {"manager", "csm", true},
		{"csm", "manager", false}, {"csm", "csm", true}, {"viewer", "csm", false}, {"viewer", "viewer", true},
		{"", "viewer", false}, {"root", "viewer", false}, {"admin", "root", false},
	} {
		if got := user.AtLeast(tt.role, tt.min); got != tt.want {
			t.Errorf("AtLeast(%q, %q) = %v, want %v", tt.role, tt.min, got, tt.want)
		}
	}
}
