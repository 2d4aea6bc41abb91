package usage

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// RollupRow is one pre-aggregated rollup count: how often an account's
// users sent an event on a day.
type RollupRow struct {
	AccountID string
	Day       int64 // days since 1970-01-01 UTC
	Event     string
	Count     int64
}

// UserDay records that a user of an account was active on a day.
type UserDay struct {
	AccountID string
	Day       int64
	UserID    string
}

// LoadRollups adds pre-aggregated history to the daily rollups in one
// transaction, without raw events: counts are added to what is stored (as
// AddRollups does) and user days are recorded once. It is the bulk form of
// AddRollups for large histories (the demo generator, a migration from
// another tool): the rows are loaded into temporary staging tables (COPY on
// PostgreSQL) and merged with one statement per table, the same SQL on both
// databases. Rows repeating a key are summed (counts) or kept once (users).
func LoadRollups(ctx context.Context, db *store.DB, rows []RollupRow, users []UserDay) error {
	if len(rows) == 0 && len(users) == 0 {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("load rollups: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("load rollups: %w", err)
	}
	defer tx.Rollback()

	const (
		stageCounts = "stage_rollup_counts"
		stageUsers  = "stage_rollup_users"
	)
	if err := db.CreateTempTable(ctx, tx, stageCounts, "account_id TEXT NOT NULL, day INTEGER NOT NULL, event TEXT NOT NULL, count BIGINT NOT NULL"); err != nil {
		return err
	}
	if err := db.CreateTempTable(ctx, tx, stageUsers, "account_id TEXT NOT NULL, day INTEGER NOT NULL, user_id TEXT NOT NULL"); err != nil {
		return err
	}

	counts := db.NewBulkLoader(conn, tx, stageCounts, []string{"account_id", "day", "event", "count"})
	for _, r := range rows {
		if err := counts.Add(ctx, r.AccountID, r.Day, r.Event, r.Count); err != nil {
			return fmt.Errorf("load rollups: %w", err)
		}
	}
	if err := counts.Close(ctx); err != nil {
		return fmt.Errorf("load rollups: %w", err)
	}
	us := db.NewBulkLoader(conn, tx, stageUsers, []string{"account_id", "day", "user_id"})
	for _, u := range users {
		if err := us.Add(ctx, u.AccountID, u.Day, u.UserID); err != nil {
			return fmt.Errorf("load rollups: %w", err)
		}
	}
	if err := us.Close(ctx); err != nil {
		return fmt.Errorf("load rollups: %w", err)
	}

	if err := LockRollups(ctx, db, tx); err != nil {
		return fmt.Errorf("load rollups: %w", err)
	}
	// GROUP BY first: PostgreSQL refuses an INSERT … ON CONFLICT DO UPDATE
	// that would update one row twice. "WHERE true" keeps SQLite from reading
	// ON CONFLICT as a join constraint.
	if _, err := tx.ExecContext(ctx, `INSERT INTO usage_daily (account_id, day, event, count)
		SELECT account_id, day, event, SUM(count) FROM `+stageCounts+` WHERE true
		GROUP BY account_id, day, event
		ON CONFLICT (account_id, day, event) DO UPDATE SET count = usage_daily.count + excluded.count`); err != nil {
		return fmt.Errorf("load rollups: merge counts: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO usage_event_names (event)
		SELECT DISTINCT event FROM `+stageCounts+` WHERE true ON CONFLICT (event) DO NOTHING`); err != nil {
		return fmt.Errorf("load rollups: event names: %w", err)
	}
	// The masks of distinct days have no bit in common: their SUM is their
	// OR (SQLite has no bit_or).
	if _, err := tx.ExecContext(ctx, `INSERT INTO usage_user_days (account_id, span, user_id, days)
		SELECT account_id, day >> 6, user_id, CAST(SUM(CAST(1 AS BIGINT) << (day & 63)) AS BIGINT)
		FROM (SELECT DISTINCT account_id, day, user_id FROM `+stageUsers+`) d WHERE true
		GROUP BY account_id, day >> 6, user_id`+userDaysUpsert); err != nil {
		return fmt.Errorf("load rollups: merge users: %w", err)
	}
	db.DropTempTable(ctx, tx, stageCounts)
	db.DropTempTable(ctx, tx, stageUsers)
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("load rollups: commit: %w", err)
	}
	return nil
}
