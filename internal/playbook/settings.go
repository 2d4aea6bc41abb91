package playbook

import (
	"context"
	"fmt"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// SetFallbackAssignee stores the playbook_fallback_assignee setting, which
// must name an existing user, and returns the value before ("" when unset).
func SetFallbackAssignee(ctx context.Context, q store.Querier, key, value string) (string, error) {
	email := strings.ToLower(strings.TrimSpace(value))
	if _, err := user.GetByEmail(ctx, q, email); err != nil {
		return "", fmt.Errorf("setting %s = %q: %w", key, value, err)
	}
	return store.PutSetting(ctx, q, key, email)
}
