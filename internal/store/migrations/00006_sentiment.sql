-- CSM sentiment (internal/account): the CSM's own read of each account,
-- green, yellow or red, with a note. Every change is a row, so the snapshot
-- and health can take the sentiment as of any past date.

-- +goose Up
CREATE TABLE csm_sentiments (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    set_at     BIGINT NOT NULL,
    sentiment  TEXT NOT NULL CHECK (sentiment IN ('green', 'yellow', 'red')),
    note       TEXT NOT NULL DEFAULT '',
    set_by     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, set_at)
);

-- +goose Down
DROP TABLE csm_sentiments;
