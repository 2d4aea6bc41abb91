package user

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrLastAdmin is returned for a change that would leave no admin, who
// alone can manage users and so undo the mistake.
var ErrLastAdmin = errors.New("it is the last admin: make another user admin first")

// SetRole changes a user's role and returns the user before and after.
func SetRole(ctx context.Context, q store.Querier, id, role string) (before, after User, _ error) {
	if !slices.Contains(Roles, role) {
		return User{}, User{}, fmt.Errorf("set role: role %q is not one of %s", role, strings.Join(Roles, ", "))
	}
	before, err := Get(ctx, q, id)
	if err != nil {
		return User{}, User{}, err
	}
	if before.Role == RoleAdmin && role != RoleAdmin {
		if err := keepAnAdmin(ctx, q, id); err != nil {
			return before, before, err
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE users SET role = $2, updated_at = $3 WHERE user_id = $1`, id, role, store.Now()); err != nil {
		return before, before, fmt.Errorf("set role of %s: %w", before.Email, err)
	}
	after = before
	after.Role = role
	return before, after, nil
}

// Delete removes a user and returns them as they were; their sessions and
// API keys go with them. Tasks and accounts keep the email as text.
func Delete(ctx context.Context, q store.Querier, id string) (User, error) {
	u, err := Get(ctx, q, id)
	if err != nil {
		return User{}, err
	}
	if u.Role == RoleAdmin {
		if err := keepAnAdmin(ctx, q, id); err != nil {
			return u, err
		}
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM users WHERE user_id = $1`, id); err != nil {
		return u, fmt.Errorf("delete user %s: %w", u.Email, err)
	}
	return u, nil
}

// keepAnAdmin refuses when the admin id is the only one.
func keepAnAdmin(ctx context.Context, q store.Querier, id string) error {
	var others int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = $1 AND user_id <> $2`, RoleAdmin, id).Scan(&others); err != nil {
		return fmt.Errorf("count admins: %w", err)
	}
	if others == 0 {
		return ErrLastAdmin
	}
	return nil
}
