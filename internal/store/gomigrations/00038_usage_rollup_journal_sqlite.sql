-- The rollup deltas of /v1/batch rounds, committed with their events and
-- applied to usage_daily and usage_daily_users in batches (see
-- internal/usage/journal.go). The PostgreSQL side differs only in types.
CREATE TABLE usage_rollup_journal (
    id    INTEGER PRIMARY KEY,
    delta BLOB NOT NULL
);
