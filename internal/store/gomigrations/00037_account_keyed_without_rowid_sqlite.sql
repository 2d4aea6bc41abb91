-- The tables the recompute rewrites become WITHOUT ROWID tables on SQLite,
-- clustered on their key. As rowid tables their rows sat in the order they
-- were written (onboarding's backfill writes by signup day, segment joins
-- and stage changes as they happen), so reading a batch of accounts by key
-- looked each row up on a page of its own: at 1,000,000 accounts the
-- recompute's read of onboarding_results alone made a million page reads.
-- Clustered, a batch's rows are a few neighbouring pages, and an upsert by
-- account is one B-tree, not a key index and a table. Their rows are small
-- (health_current's explanation is kept compact for it: health's
-- contributions.go). PostgreSQL has no rowid; its side does nothing.
CREATE TABLE onboarding_results_new (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    signup_day    INTEGER NOT NULL,
    window_days   INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('completed', 'missed', 'open', 'not_applicable')),
    completed_day INTEGER,
    checked_day   INTEGER NOT NULL,
    updated_at    BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO onboarding_results_new SELECT account_id, version, signup_day, window_days, status, completed_day, checked_day, updated_at
    FROM onboarding_results ORDER BY account_id;
DROP TABLE onboarding_results;
ALTER TABLE onboarding_results_new RENAME TO onboarding_results;
CREATE INDEX onboarding_results_signup ON onboarding_results (signup_day);

CREATE TABLE segment_members_new (
    segment_id TEXT NOT NULL REFERENCES segments (segment_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    since      BIGINT NOT NULL,
    PRIMARY KEY (segment_id, account_id)
) WITHOUT ROWID;
INSERT INTO segment_members_new SELECT segment_id, account_id, since FROM segment_members ORDER BY segment_id, account_id;
DROP TABLE segment_members;
ALTER TABLE segment_members_new RENAME TO segment_members;
-- The stage reads the memberships of a batch of accounts by account_id
-- range; the index holds the key, so it answers without the table.
CREATE INDEX segment_members_account ON segment_members (account_id);

CREATE TABLE account_stages_new (
    account_id TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    stage_id   TEXT NOT NULL,
    entered_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO account_stages_new SELECT account_id, stage_id, entered_at FROM account_stages ORDER BY account_id;
DROP TABLE account_stages;
ALTER TABLE account_stages_new RENAME TO account_stages;
CREATE INDEX account_stages_stage ON account_stages (stage_id);

CREATE TABLE stage_history_new (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    stage_id   TEXT NOT NULL,
    PRIMARY KEY (account_id, at)
) WITHOUT ROWID;
INSERT INTO stage_history_new SELECT account_id, at, stage_id FROM stage_history ORDER BY account_id, at;
DROP TABLE stage_history;
ALTER TABLE stage_history_new RENAME TO stage_history;

CREATE TABLE health_current_new (
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
) WITHOUT ROWID;
INSERT INTO health_current_new SELECT account_id, model_id, score, band, previous_band, day, computed_score, overridden, contributions, updated_at
    FROM health_current ORDER BY account_id;
DROP TABLE health_current;
ALTER TABLE health_current_new RENAME TO health_current;
CREATE INDEX health_current_band ON health_current (band);
