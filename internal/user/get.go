package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Get returns the user with this id, or ErrNotFound.
func Get(ctx context.Context, q store.Querier, id string) (User, error) {
	return get(ctx, q, `user_id = $1`, id)
}

// GetByEmail returns the user with this email (in any case), or ErrNotFound.
func GetByEmail(ctx context.Context, q store.Querier, email string) (User, error) {
	return get(ctx, q, `email = $1`, strings.ToLower(strings.TrimSpace(email)))
}

func get(ctx context.Context, q store.Querier, where string, arg string) (User, error) {
	var u User
	var created int64
	err := q.QueryRowContext(ctx, `SELECT user_id, email, name, role, language, recorded_at FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Language, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", arg, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", arg, err)
	}
	u.CreatedAt = time.Unix(created, 0).UTC()
	return u, nil
}

// AtLeast reports whether role has at least the privileges of min, in the
// order admin > manager > csm > viewer. An unknown role has none, and
// no role is at least an unknown one.
func AtLeast(role, min string) bool {
	rank := func(r string) int {
		for i, x := range Roles {
			if x == r {
				return len(Roles) - i
			}
		}
		return 0
	}
	return rank(role) > 0 && rank(min) > 0 && rank(role) >= rank(min)
}

// Languages are the UI languages a user may choose.
var Languages = []string{"en", "ja"}

// SetLanguage records the UI language a user chose: one of Languages, or
// empty to follow the browser.
func SetLanguage(ctx context.Context, q store.Querier, id, lang string) error {
	if lang != "" && !slices.Contains(Languages, lang) {
		return fmt.Errorf("set language of user %s: %q is not one of %v", id, lang, Languages)
	}
	res, err := q.ExecContext(ctx, `UPDATE users SET language = $1, updated_at = $2 WHERE user_id = $3`, lang, store.Now(), id)
	if err != nil {
		return fmt.Errorf("set language of user %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set language of user %s: %w", id, ErrNotFound)
	}
	return nil
}
