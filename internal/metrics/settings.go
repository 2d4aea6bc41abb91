package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// The settings metrics read. Margin overrides name a plan or a product after
// the prefix: gross_margin.plan.enterprise, gross_margin.product.addon.
const (
	SettingGrossMargin   = "gross_margin"
	SettingTierAttribute = "tier_attribute"
	prefixPlanMargin     = "gross_margin.plan."
	prefixProductMargin  = "gross_margin.product."
)

// ErrUnknownSetting is returned for a key that no metric reads.
var ErrUnknownSetting = errors.New("unknown setting")

// IsSetting reports whether key is a setting of this package.
func IsSetting(key string) bool {
	switch {
	case key == SettingGrossMargin || key == SettingTierAttribute:
		return true
	case strings.HasPrefix(key, prefixPlanMargin) && len(key) > len(prefixPlanMargin):
		return true
	case strings.HasPrefix(key, prefixProductMargin) && len(key) > len(prefixProductMargin):
		return true
	}
	return false
}

// SetSetting validates and stores one setting; it returns the value before
// ("" when unset).
func SetSetting(ctx context.Context, q store.Querier, key, value string) (string, error) {
	if !IsSetting(key) {
		return "", fmt.Errorf("%w %q: want %s, %s, %sNAME or %sNAME", ErrUnknownSetting, key, SettingGrossMargin,
			SettingTierAttribute, prefixPlanMargin, prefixProductMargin)
	}
	if strings.HasPrefix(key, SettingGrossMargin) {
		if _, err := ParseMargin(value); err != nil {
			return "", fmt.Errorf("setting %s: %w", key, err)
		}
	} else if strings.TrimSpace(value) == "" {
		return "", fmt.Errorf("setting %s: empty attribute name", key)
	}
	before, err := setting(ctx, q, key, "")
	if err != nil {
		return "", err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return before, nil
}

// UnsetSetting removes a setting (its default applies again); it returns the
// value before ("" when it was not set).
func UnsetSetting(ctx context.Context, q store.Querier, key string) (string, error) {
	if !IsSetting(key) {
		return "", fmt.Errorf("%w %q", ErrUnknownSetting, key)
	}
	before, err := setting(ctx, q, key, "")
	if err != nil {
		return "", err
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key); err != nil {
		return "", fmt.Errorf("unset %s: %w", key, err)
	}
	return before, nil
}
