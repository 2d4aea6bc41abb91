-- The daily rollups become WITHOUT ROWID tables on SQLite: a rowid table
-- with a composite primary key is two B-trees (the rows, and the key's
-- index), so every rollup upsert wrote twice; clustered on the key, it is
-- one B-tree, and range reads by account are covering. PostgreSQL has no
-- rowid; its side of this migration does nothing.
CREATE TABLE usage_daily_new (
    account_id TEXT NOT NULL,
    day        INTEGER NOT NULL,
    event      TEXT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (account_id, day, event)
) WITHOUT ROWID;
INSERT INTO usage_daily_new (account_id, day, event, count) SELECT account_id, day, event, count FROM usage_daily;
DROP TABLE usage_daily;
ALTER TABLE usage_daily_new RENAME TO usage_daily;

CREATE TABLE usage_daily_users_new (
    account_id TEXT NOT NULL,
    day        INTEGER NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (account_id, day, user_id)
) WITHOUT ROWID;
INSERT INTO usage_daily_users_new (account_id, day, user_id) SELECT account_id, day, user_id FROM usage_daily_users;
DROP TABLE usage_daily_users;
ALTER TABLE usage_daily_users_new RENAME TO usage_daily_users;
