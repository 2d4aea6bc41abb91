// Package demo generates the demo database of `kizuna demo`: a realistic
// subscription business with several thousand customers over 36 months —
// subscriptions with every kind of MRR movement, contacts, usage, support
// inquiries, surveys, feedback, CSM notes, sales handoffs and trial
// prospects — with known effects planted in it, so that the analytics can be
// checked against a written-down truth.
//
// The generator is deterministic: the same seed, scale and anchor day give
// the same data. Each account draws from its own random streams, so accounts
// can be generated in any order (and concurrently) with the same result.
package demo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// The demo login, created in demo databases only.
const (
	LoginEmail    = "demo@example.com"
	LoginPassword = "kizuna-demo"
)

// Config tunes Generate.
type Config struct {
	// Seed selects the random data; the same Seed, Scale and Now give the same data.
	Seed uint64
	// Scale multiplies the number of accounts (1 = 5,000 customers and 300
	// trial prospects) and so everything else. It must be positive.
	Scale float64
	// Now anchors the data: signups spread over the 36 months before it, usage
	// runs up to the day before it. Generate truncates it to 00:00 UTC.
	Now time.Time
	// Progress, when set, is told how far each stage got. Generate calls it
	// from the calling goroutine only.
	Progress func(stage string, done, total int)
}

// Stages reported to Config.Progress, in order.
const (
	StageAccounts = "accounts"
	StageRecords  = "records"
	StageUsage    = "usage"
)

// Marker is what a demo database records about itself in the settings table
// (key "demo"), so that `kizuna demo` reopens it instead of generating again.
type Marker struct {
	Seed  uint64  `json:"seed"`
	Scale float64 `json:"scale"`
	// Now is the anchor day (YYYY-MM-DD) the data was generated for.
	Now string `json:"now"`
	// Complete is false while generation runs, so that an interrupted run is
	// not mistaken for a demo database.
	Complete bool `json:"complete"`
}

// settingKey is the settings row holding the Marker.
const settingKey = "demo"

// ErrNotEmpty is returned by Generate for a database that already holds accounts.
var ErrNotEmpty = errors.New("database already holds accounts")

// ReadMarker returns the demo marker of a database; ok is false when the
// database is not a demo database.
func ReadMarker(ctx context.Context, q store.Querier) (m Marker, ok bool, err error) {
	var v string
	err = q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, settingKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read demo marker: %w", err)
	}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return m, false, fmt.Errorf("read demo marker: %w", err)
	}
	return m, true, nil
}

func writeMarker(ctx context.Context, q store.Querier, m Marker) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, settingKey, string(b))
	if err != nil {
		return fmt.Errorf("write demo marker: %w", err)
	}
	return nil
}

// Generate fills an empty database with demo data and returns the truth about
// it: the planted effects with their parameters and the numbers measured on
// the generated data. It refuses a database that already holds accounts.
func Generate(ctx context.Context, db *store.DB, cfg Config) (*Truth, error) {
	if !(cfg.Scale > 0) || math.IsInf(cfg.Scale, 0) {
		return nil, fmt.Errorf("generate demo: scale must be a positive number, not %v", cfg.Scale)
	}
	if cfg.Now.IsZero() {
		return nil, errors.New("generate demo: no anchor time (Config.Now)")
	}
	cfg.Now = cfg.Now.UTC().Truncate(24 * time.Hour)
	if cfg.Progress == nil {
		cfg.Progress = func(string, int, int) {}
	}
	n, err := account.Count(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("generate demo: %w", err)
	}
	if n > 0 {
		return nil, fmt.Errorf("generate demo into %s: %w (%d)", db.Location, ErrNotEmpty, n)
	}
	m := Marker{Seed: cfg.Seed, Scale: cfg.Scale, Now: cfg.Now.Format(time.DateOnly)}
	if err := writeMarker(ctx, db, m); err != nil {
		return nil, err
	}
	// What the demo product's events mean, for snapshots and rules.
	if _, err := db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('key_features', $1), ('login_event', $2), ('setup_event', $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		strings.Join([]string{EventReports, EventDashboards, EventIntegrations}, ","), EventLogin, EventSetup); err != nil {
		return nil, fmt.Errorf("generate demo: settings: %w", err)
	}

	w := newWorld(cfg)
	// Hashing the users' passwords (argon2id) takes seconds of CPU while the
	// writing below mostly waits for the database: do both at once.
	users := make(chan error, 1)
	go func() { users <- w.createUsers(ctx, db) }()
	w.simulate()
	err = w.write(ctx, db)
	if err == nil {
		err = w.writeHealth(ctx, db)
	}
	if err == nil {
		err = writeSegments(ctx, db, cfg.Now)
	}
	if uerr := <-users; err == nil {
		err = uerr
	}
	if err == nil {
		// After the users: their creation writes concurrently with the
		// data, and SQLite has one writer at a time.
		err = w.writePrograms(ctx, db)
	}
	if err == nil {
		err = w.writeGoals(ctx, db) // goals.go; after the users, who own them
	}
	if err == nil {
		err = w.writeSurveys(ctx, db)
	}
	if err != nil {
		return nil, err
	}
	truth, err := w.truth(ctx, db)
	if err != nil {
		return nil, err
	}
	m.Complete = true
	if err := writeMarker(ctx, db, m); err != nil {
		return nil, err
	}
	return truth, nil
}
