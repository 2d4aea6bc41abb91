-- Programs (DESIGN.md C11, issue 9): a CS action run to test a hypothesis,
-- its participants, and the outcome measures its results compare against a
-- control group. Owned by internal/program. Control groups are not stored:
-- they are derived at analysis time (a playbook's holdout or a matched
-- comparison), so a result always reflects the data as it is now.

-- +goose Up
CREATE TABLE programs (
    program_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    goal        TEXT NOT NULL DEFAULT '',
    hypothesis  TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL CHECK (action IN ('seminar', 'video', 'email', 'call', 'playbook', 'other')),
    segment_id  TEXT NOT NULL DEFAULT '', -- the target segment; '' is every customer
    playbook_id TEXT NOT NULL DEFAULT '', -- its holdout is the control group when set
    start_day   INTEGER NOT NULL,         -- day number of the start date
    pre_days    INTEGER NOT NULL CHECK (pre_days > 0),
    post_days   INTEGER NOT NULL CHECK (post_days > 0),
    measures    TEXT NOT NULL DEFAULT '[]', -- JSON: []program.Measure
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE program_participants (
    program_id TEXT NOT NULL REFERENCES programs (program_id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    source     TEXT NOT NULL CHECK (source IN ('import', 'hand', 'playbook')),
    joined_day INTEGER NOT NULL,
    added_by   TEXT NOT NULL DEFAULT '',
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (program_id, account_id)
);
CREATE INDEX program_participants_account ON program_participants (account_id);

-- +goose Down
DROP TABLE program_participants;
DROP TABLE programs;
