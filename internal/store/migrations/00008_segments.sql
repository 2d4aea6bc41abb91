-- Rule-defined segments (internal/segment). segment_members is the live
-- membership the recompute keeps (only joins and leaves are written), and
-- segment_history records every join and leave with its time, so "who
-- entered the segment this week" is one range read.

-- +goose Up
CREATE TABLE segments (
    segment_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rule        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE segment_members (
    segment_id TEXT NOT NULL REFERENCES segments (segment_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    since      BIGINT NOT NULL,
    PRIMARY KEY (segment_id, account_id)
);
-- The stage reads the memberships of a batch of accounts by account_id range.
CREATE INDEX segment_members_account ON segment_members (account_id);

-- No foreign keys here: PostgreSQL checks them row by row, which doubled the
-- cost of a first recompute's joins; segment.Delete removes a segment's
-- history itself, and the history of a deleted account is kept as history.
CREATE TABLE segment_history (
    segment_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    at         BIGINT NOT NULL,
    event      TEXT NOT NULL CHECK (event IN ('joined', 'left')),
    PRIMARY KEY (segment_id, at, account_id, event)
);

-- +goose Down
DROP TABLE segment_history;
DROP TABLE segment_members;
DROP TABLE segments;
