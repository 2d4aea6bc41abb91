package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// ErrBadSetting is returned by [SetSetting] for a value the snapshot cannot use.
var ErrBadSetting = errors.New("bad snapshot setting")

// IsSetting reports whether key is a setting snapshots read.
func IsSetting(key string) bool {
	switch key {
	case SettingKeyFeatures, SettingLoginEvent, SettingSetupEvent, SettingOnboardingDays:
		return true
	}
	return false
}

// SetSetting validates and stores one of the snapshot's settings and
// returns the value before ("" when unset).
func SetSetting(ctx context.Context, q store.Querier, key, value string) (string, error) {
	v := strings.TrimSpace(value)
	switch key {
	case SettingKeyFeatures:
		if len(splitList(v)) == 0 {
			return "", fmt.Errorf("%w: %s = %q: want event names separated by commas", ErrBadSetting, key, value)
		}
		v = strings.Join(splitList(v), ",")
	case SettingLoginEvent, SettingSetupEvent:
		if v == "" || strings.Contains(v, ",") {
			return "", fmt.Errorf("%w: %s = %q: want one event name", ErrBadSetting, key, value)
		}
	case SettingOnboardingDays:
		// The default onboarding definition's window (internal/onboarding).
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 365 {
			return "", fmt.Errorf("%w: %s = %q: want a whole number of days from 1 to 365", ErrBadSetting, key, value)
		}
	default:
		return "", fmt.Errorf("%w: unknown key %q", ErrBadSetting, key)
	}
	return store.PutSetting(ctx, q, key, v)
}
