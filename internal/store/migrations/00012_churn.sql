-- Churn risk (DESIGN C6): internal/churn owns churn_scores, the latest
-- probability of each paying account from `kizuna churn train --store`.

-- +goose Up
CREATE TABLE churn_scores (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    probability DOUBLE PRECISION NOT NULL CHECK (probability >= 0 AND probability <= 1),
    reasons     TEXT NOT NULL DEFAULT '[]', -- JSON list of {feature, value, contribution}
    as_of       BIGINT NOT NULL,            -- the model's as-of date (unix seconds)
    scored_at   BIGINT NOT NULL
);
CREATE INDEX churn_scores_probability ON churn_scores (probability);

-- +goose Down
DROP TABLE churn_scores;
