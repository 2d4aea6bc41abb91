package health

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// DefaultOverrideDays is how long an override lasts when no expiry is given:
// long enough for a CSM's read to matter, short enough that it is revisited.
const DefaultOverrideDays = 30

// Override is a manual override of an account's score or band.
type Override struct {
	AccountID string     `json:"account_id"`
	Score     *float64   `json:"score,omitempty" minimum:"0" maximum:"100" doc:"The score to use; the band follows from the model's limits."`
	Band      string     `json:"band,omitempty" enum:"green,yellow,red," doc:"The band to use (when no score is given)."`
	Reason    string     `json:"reason"`
	Author    string     `json:"author"`
	SetAt     time.Time  `json:"set_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	ClearedAt *time.Time `json:"cleared_at,omitempty"`
	ClearedBy string     `json:"cleared_by,omitempty"`
}

// ErrBadOverride is wrapped by the errors of an override that cannot be set.
var ErrBadOverride = errors.New("invalid override")

// SetOverride validates and stores o. A zero ExpiresAt means
// DefaultOverrideDays after SetAt (now when zero).
func SetOverride(ctx context.Context, q store.Querier, o Override) (Override, error) {
	fail := func(format string, args ...any) (Override, error) {
		return o, fmt.Errorf("override of %s: %s: %w", o.AccountID, fmt.Sprintf(format, args...), ErrBadOverride)
	}
	if o.SetAt.IsZero() {
		o.SetAt = time.Unix(store.Now(), 0).UTC()
	}
	o.SetAt = o.SetAt.Truncate(time.Second).UTC()
	if o.ExpiresAt.IsZero() {
		o.ExpiresAt = o.SetAt.AddDate(0, 0, DefaultOverrideDays)
	}
	o.ExpiresAt = o.ExpiresAt.Truncate(time.Second).UTC()
	switch {
	case (o.Score == nil) == (o.Band == ""):
		return fail("give either a score or a band")
	case o.Score != nil && !(*o.Score >= 0 && *o.Score <= 100):
		return fail("the score must be within 0–100, not %v", *o.Score)
	case o.Band != "" && o.Band != Green && o.Band != Yellow && o.Band != Red:
		return fail("band %q: must be green, yellow or red", o.Band)
	case o.Reason == "":
		return fail("a reason is required")
	case !o.ExpiresAt.After(o.SetAt):
		return fail("it expires (%s) before it is set (%s)", o.ExpiresAt.Format(time.RFC3339), o.SetAt.Format(time.RFC3339))
	}
	var band any
	if o.Band != "" {
		band = o.Band
	}
	var score any
	if o.Score != nil {
		v := math.Round(*o.Score*100) / 100
		o.Score, score = &v, v
	}
	_, err := q.ExecContext(ctx, `INSERT INTO health_overrides (account_id, set_at, score, band, reason, author, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (account_id, set_at) DO UPDATE SET score = excluded.score, band = excluded.band, reason = excluded.reason,
		author = excluded.author, expires_at = excluded.expires_at, cleared_at = NULL, cleared_by = ''`,
		o.AccountID, o.SetAt.Unix(), score, band, o.Reason, o.Author, o.ExpiresAt.Unix())
	if err != nil {
		return o, fmt.Errorf("override of %s: %w", o.AccountID, err)
	}
	return o, nil
}

// ClearOverride ends the override in force on accountID at at; it returns the
// cleared override, or ErrNotFound when none is in force.
func ClearOverride(ctx context.Context, q store.Querier, accountID, by string, at time.Time) (Override, error) {
	o, ok, err := ActiveOverride(ctx, q, accountID, at)
	if err != nil {
		return o, err
	}
	if !ok {
		return o, fmt.Errorf("override of %s: %w", accountID, ErrNotFound)
	}
	if _, err := q.ExecContext(ctx, `UPDATE health_overrides SET cleared_at = $1, cleared_by = $2 WHERE account_id = $3 AND set_at = $4`,
		at.Unix(), by, accountID, o.SetAt.Unix()); err != nil {
		return o, fmt.Errorf("clear override of %s: %w", accountID, err)
	}
	t := at.Truncate(time.Second).UTC()
	o.ClearedAt, o.ClearedBy = &t, by
	return o, nil
}

const overrideColumns = `account_id, set_at, score, band, reason, author, expires_at, cleared_at, cleared_by`

// activeWhere selects the overrides in force at $1.
const activeWhere = `set_at <= $1 AND expires_at > $1 AND (cleared_at IS NULL OR cleared_at > $1)`

func scanOverride(sc interface{ Scan(...any) error }) (Override, error) {
	var o Override
	var setAt, expires int64
	var score sql.NullFloat64
	var band sql.NullString
	var cleared sql.NullInt64
	if err := sc.Scan(&o.AccountID, &setAt, &score, &band, &o.Reason, &o.Author, &expires, &cleared, &o.ClearedBy); err != nil {
		return o, err
	}
	o.SetAt, o.ExpiresAt = time.Unix(setAt, 0).UTC(), time.Unix(expires, 0).UTC()
	o.Score, o.Band = nullFloat(score), band.String
	if cleared.Valid {
		t := time.Unix(cleared.Int64, 0).UTC()
		o.ClearedAt = &t
	}
	return o, nil
}

// ActiveOverride is the override in force on accountID at at: the latest set.
func ActiveOverride(ctx context.Context, q store.Querier, accountID string, at time.Time) (Override, bool, error) {
	row := q.QueryRowContext(ctx, `SELECT `+overrideColumns+` FROM health_overrides WHERE `+activeWhere+
		` AND account_id = $2 ORDER BY set_at DESC LIMIT 1`, at.Unix(), accountID)
	o, err := scanOverride(row)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("override of %s: %w", accountID, err)
	}
	return o, true, nil
}

// Overrides is an account's override history, newest first.
func Overrides(ctx context.Context, q store.Querier, accountID string) ([]Override, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+overrideColumns+` FROM health_overrides WHERE account_id = $1 ORDER BY set_at DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("overrides of %s: %w", accountID, err)
	}
	os, err := store.Collect(rows, scanOverride)
	if err != nil {
		return nil, fmt.Errorf("overrides of %s: %w", accountID, err)
	}
	return os, nil
}
