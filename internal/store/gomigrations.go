package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/pressly/goose/v3"
)

// Most migrations are one SQL text for both databases (migrations/). The few
// that cannot be (triggers: SQLite has trigger bodies, PostgreSQL trigger
// functions) are Go migrations that run a file per dialect from gomigrations/,
// named VERSION_NAME_DIALECT.sql.
//
//go:embed gomigrations/*.sql
var dialectMigrations embed.FS

// dialectMigration is a migration written once per dialect.
type dialectMigration struct {
	version int64
	name    string
	down    map[Dialect]string
}

var dialectSpecific = []dialectMigration{
	{version: 5, name: "period_versions", down: map[Dialect]string{
		SQLite: `DROP TRIGGER subscription_periods_version_insert; DROP TRIGGER subscription_periods_version_update;
			DROP TRIGGER subscription_periods_version_delete; DROP TABLE subscription_period_versions;
			DROP TRIGGER fx_rates_version_insert; DROP TRIGGER fx_rates_version_update;
			DROP TRIGGER fx_rates_version_delete; DROP TABLE fx_rate_versions;`,
		Postgres: `DROP TRIGGER subscription_periods_version_insert ON subscription_periods;
			DROP TRIGGER subscription_periods_version_update ON subscription_periods;
			DROP FUNCTION subscription_periods_version(); DROP TABLE subscription_period_versions;
			DROP TRIGGER fx_rates_version_change ON fx_rates; DROP TRIGGER fx_rates_version_update ON fx_rates;
			DROP FUNCTION fx_rates_version(); DROP TABLE fx_rate_versions;`,
	}},
	{version: 11, name: "rollups_without_rowid", down: map[Dialect]string{
		// The rowid tables answer every query the same; going back keeps the
		// WITHOUT ROWID ones.
		SQLite: `SELECT 1`, Postgres: `SELECT 1`,
	}},
	{version: 34, name: "events_message_id_c", down: map[Dialect]string{
		SQLite: `SELECT 1`, Postgres: `ALTER TABLE events ALTER COLUMN message_id TYPE TEXT COLLATE "default"`,
	}},
	{version: 37, name: "account_keyed_without_rowid", down: map[Dialect]string{
		// As for 11: the clustered tables answer every query the same.
		SQLite: `SELECT 1`, Postgres: `SELECT 1`,
	}},
	// BLOB and INTEGER PRIMARY KEY against BYTEA and an identity column.
	{version: 38, name: "usage_rollup_journal", down: map[Dialect]string{
		SQLite: `DROP TABLE usage_rollup_journal`, Postgres: `DROP TABLE usage_rollup_journal`,
	}},
	// WITHOUT ROWID, and SUM's type.
	{version: 39, name: "usage_user_days", down: map[Dialect]string{
		SQLite:   userDaysDown + ` WITHOUT ROWID;` + userDaysDownRest,
		Postgres: userDaysDown + `;` + userDaysDownRest,
	}},
	// A storage parameter PostgreSQL has and SQLite has not.
	{version: 40, name: "usage_daily_fillfactor", down: map[Dialect]string{
		SQLite: `SELECT 1`, Postgres: `ALTER TABLE usage_daily RESET (fillfactor)`,
	}},
	// SQLite rebuilds the table to change its key. Down fails, naming the
	// constraint, while two stored events share a message id.
	{version: 41, name: "events_key_ts", down: map[Dialect]string{
		SQLite: `CREATE TABLE events_old (message_id TEXT PRIMARY KEY, account_id TEXT, user_id TEXT NOT NULL DEFAULT '',
				event TEXT NOT NULL, ts BIGINT NOT NULL, properties TEXT NOT NULL DEFAULT '{}', recorded_at BIGINT NOT NULL);
			INSERT INTO events_old (rowid, message_id, account_id, user_id, event, ts, properties, recorded_at)
				SELECT rowid, message_id, account_id, user_id, event, ts, properties, recorded_at FROM events;
			DROP TABLE events;
			ALTER TABLE events_old RENAME TO events;
			CREATE INDEX events_unattributed ON events (user_id) WHERE account_id IS NULL;`,
		Postgres: `ALTER TABLE events DROP CONSTRAINT events_pkey; ALTER TABLE events ADD PRIMARY KEY (message_id);`,
	}},
}

// The down of migration 39: the user-day rows back from the view.
const (
	userDaysDown = `CREATE TABLE usage_daily_users_old (account_id TEXT NOT NULL, day INTEGER NOT NULL,
		user_id TEXT NOT NULL, PRIMARY KEY (account_id, day, user_id))`
	userDaysDownRest = `
		INSERT INTO usage_daily_users_old (account_id, day, user_id) SELECT account_id, day, user_id FROM usage_daily_users;
		DROP VIEW usage_daily_users;
		DROP TABLE usage_user_days;
		ALTER TABLE usage_daily_users_old RENAME TO usage_daily_users;`
)

// goMigrations are the dialect-specific migrations for d.
func goMigrations(d Dialect) ([]*goose.Migration, error) {
	var out []*goose.Migration
	for _, m := range dialectSpecific {
		file := fmt.Sprintf("gomigrations/%05d_%s_%s.sql", m.version, m.name, d)
		up, err := dialectMigrations.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("migration %d: %w", m.version, err)
		}
		out = append(out, goose.NewGoMigration(m.version, execTx(string(up)), execTx(m.down[d])))
	}
	return out, nil
}

// execTx runs one multi-statement text in the migration's transaction; both
// drivers take several statements in one Exec without arguments.
func execTx(text string) *goose.GoFunc {
	return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, text)
		return err
	}}
}
