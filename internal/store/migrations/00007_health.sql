-- Health scores (internal/health): the models, each account's current score
-- (what other stages and rules read), a daily history, and manual overrides.

-- +goose Up
CREATE TABLE health_models (
    model_id   TEXT PRIMARY KEY,
    priority   BIGINT NOT NULL,
    definition TEXT NOT NULL, -- the model as JSON (health.Model)
    version    BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT NOT NULL
);

-- score and band are the effective ones (an active override applied);
-- computed_score is what the model said.
CREATE TABLE health_current (
    account_id     TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    model_id       TEXT NOT NULL,
    score          DOUBLE PRECISION NOT NULL,
    band           TEXT NOT NULL,
    previous_band  TEXT NOT NULL DEFAULT '',
    day            BIGINT NOT NULL,
    computed_score DOUBLE PRECISION NOT NULL,
    overridden     INTEGER NOT NULL DEFAULT 0,
    contributions  TEXT NOT NULL DEFAULT '[]',
    updated_at     BIGINT NOT NULL
);
CREATE INDEX health_current_band ON health_current (band);

-- One row per account and day on which its score changed (releases before
-- 2026-12-03 wrote one every day): the score on a day is the latest row at
-- or before it. The last recompute of a day wins.
CREATE TABLE health_scores (
    account_id     TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    day            BIGINT NOT NULL,
    model_id       TEXT NOT NULL,
    score          DOUBLE PRECISION NOT NULL,
    band           TEXT NOT NULL,
    computed_score DOUBLE PRECISION NOT NULL,
    overridden     INTEGER NOT NULL DEFAULT 0,
    contributions  TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, day)
);

-- Every override ever set is kept; the latest one set, not cleared and not
-- expired at an instant is the one in force.
CREATE TABLE health_overrides (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    set_at     BIGINT NOT NULL,
    score      DOUBLE PRECISION,
    band       TEXT CHECK (band IN ('green', 'yellow', 'red')),
    reason     TEXT NOT NULL,
    author     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    cleared_at BIGINT,
    cleared_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, set_at),
    CHECK (score IS NOT NULL OR band IS NOT NULL)
);

-- +goose Down
DROP TABLE health_overrides;
DROP TABLE health_scores;
DROP TABLE health_current;
DROP TABLE health_models;
