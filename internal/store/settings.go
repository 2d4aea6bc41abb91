package store

import (
	"context"
	"fmt"
)

// PutSetting stores value under key in the settings table, which every
// domain package reads its own keys from, and returns the value before
// ("" when unset). Checking the value is the owning package's job.
func PutSetting(ctx context.Context, q Querier, key, value string) (string, error) {
	var before string
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(value), '') FROM settings WHERE key = $1`, key).Scan(&before); err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return before, nil
}

// Setting returns the value stored under key, "" when unset (the owning
// package's default then applies).
func Setting(ctx context.Context, q Querier, key string) (string, error) {
	var v string
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(value), '') FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return v, nil
}

// DeleteSetting removes key, so that its default applies again, and
// returns the value before ("" when unset).
func DeleteSetting(ctx context.Context, q Querier, key string) (string, error) {
	before, err := Setting(ctx, q, key)
	if err != nil {
		return "", err
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key); err != nil {
		return "", fmt.Errorf("delete setting %s: %w", key, err)
	}
	return before, nil
}
