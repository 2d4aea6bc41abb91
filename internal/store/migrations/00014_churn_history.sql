-- Churn risk history (DESIGN C6): internal/churn owns churn_score_history,
-- every stored scoring run's probabilities, so that a snapshot of a past
-- instant reads the churn_risk stored as of then (the latest run at or
-- before it), never a later one. churn_scores stays the latest run.

-- +goose Up
CREATE TABLE churn_score_history (
    scored_at   BIGINT NOT NULL,            -- the run (unix seconds); rows of one run share it
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    probability DOUBLE PRECISION NOT NULL CHECK (probability >= 0 AND probability <= 1),
    reasons     TEXT NOT NULL DEFAULT '[]', -- JSON list of {feature, value, contribution}
    as_of       BIGINT NOT NULL,            -- the model's as-of date (unix seconds)
    PRIMARY KEY (scored_at, account_id)
);
CREATE INDEX churn_score_history_account ON churn_score_history (account_id, scored_at);

-- +goose Down
DROP TABLE churn_score_history;
