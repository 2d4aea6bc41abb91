package user_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

func TestSetRoleAndDeleteKeepAnAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ann, err := user.Create(ctx, db, "ann@example.com", "Ann", user.RoleAdmin, "a long password")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := user.Create(ctx, db, "bob@example.com", "Bob", user.RoleCSM, "a long password")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := user.SetRole(ctx, db, ann.ID, user.RoleManager); !errors.Is(err, user.ErrLastAdmin) {
			t.Errorf("demote the only admin: %v, want ErrLastAdmin", err)
		}
		if _, err := user.Delete(ctx, db, ann.ID); !errors.Is(err, user.ErrLastAdmin) {
			t.Errorf("delete the only admin: %v, want ErrLastAdmin", err)
		}
		if _, _, err := user.SetRole(ctx, db, bob.ID, "owner"); err == nil {
			t.Error("an unknown role was accepted")
		}
		before, after, err := user.SetRole(ctx, db, bob.ID, user.RoleAdmin)
		if err != nil || before.Role != user.RoleCSM || after.Role != user.RoleAdmin {
			t.Fatalf("promote Bob: %v → %v, %v", before.Role, after.Role, err)
		}
		// With Bob an admin, Ann may go.
		if _, _, err := user.SetRole(ctx, db, ann.ID, user.RoleViewer); err != nil {
			t.Fatalf("demote Ann with Bob an admin: %v", err)
		}
		if got, _ := user.Get(ctx, db, ann.ID); got.Role != user.RoleViewer {
			t.Errorf("Ann's role = %q, want viewer", got.Role)
		}
		gone, err := user.Delete(ctx, db, ann.ID)
		if err != nil || gone.Email != "ann@example.com" {
			t.Fatalf("delete Ann: %+v, %v", gone, err)
		}
		if _, err := user.Get(ctx, db, ann.ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("Ann after delete: %v", err)
		}
		if _, err := user.Delete(ctx, db, ann.ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
	})
}
