package usage

import (
	"context"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// rollupLockKey is the PostgreSQL advisory lock (one bigint, per database)
// of LockRollups: "kizuna" and 1 for the rollups.
const rollupLockKey = 0x6b697a756e61_0001

// LockRollups makes the PostgreSQL transaction q wait until no other
// transaction is writing the rollup tables (usage_daily, usage_user_days,
// usage_event_names) directly, and keeps the others waiting until q ends.
// Every such writer takes it before it locks its first rollup row: the
// Writer (a CSV import, the journal's applier), LoadRollups, and a caller
// of AddRollups beside others (a group call's attribution when the rounds
// do not journal). Each writes its rows in primary key order, but several
// statements or several accounts in one transaction are not one order,
// and two writers whose orders cross deadlock: PostgreSQL then rolls one
// of them back (the demo failed so in CI). Serialised, they wait instead.
// Rounds that journal their rollups (DeferRollups, JournalRollups) do not
// take it, so ingestion goes on beside an import. SQLite has one writer at
// a time already: there it does nothing. q outside a transaction holds the
// lock only for the statement.
func LockRollups(ctx context.Context, db *store.DB, q store.Querier) error {
	if db.Dialect != store.Postgres {
		return nil
	}
	if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(rollupLockKey)); err != nil {
		return fmt.Errorf("wait for the rollups' lock: %w", err)
	}
	return nil
}
