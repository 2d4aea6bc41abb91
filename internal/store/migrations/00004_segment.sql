-- Segment-compatible ingestion (internal/tracking, internal/ingest). One text
-- for SQLite and PostgreSQL: times are unix seconds (BIGINT), ids are text.

-- +goose Up

-- One row per Segment userId that sent an identify or a group call.
-- account_id is the groupId of the user's latest group call (by the call's
-- timestamp; linked_at), NULL until there is one: track and page events of
-- the user without a context.groupId are filed under it. traits are the
-- latest identify call's traits (a JSON object, identified_at its timestamp).
CREATE TABLE segment_users (
    user_id       TEXT PRIMARY KEY,
    account_id    TEXT,
    linked_at     BIGINT,
    traits        TEXT NOT NULL DEFAULT '{}',
    identified_at BIGINT,
    updated_at    BIGINT NOT NULL
);

-- The latest traits a group call sent for each groupId (= account_id).
CREATE TABLE segment_groups (
    group_id   TEXT PRIMARY KEY,
    traits     TEXT NOT NULL DEFAULT '{}',
    traits_at  BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE segment_groups;
DROP TABLE segment_users;
