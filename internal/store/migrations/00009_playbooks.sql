-- Playbooks, tasks and notifications (DESIGN C10): internal/task owns tasks,
-- internal/playbook owns playbooks, playbook_states and enrollments,
-- internal/notify owns deliveries.

-- +goose Up
CREATE TABLE tasks (
    task_id      TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    assignee     TEXT,
    status       TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    due_at       BIGINT,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    priority     TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    outcome      TEXT NOT NULL DEFAULT '',
    playbook_id  TEXT,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX tasks_queue ON tasks (assignee, status, due_at);
CREATE INDEX tasks_account ON tasks (account_id, status);
CREATE INDEX tasks_playbook ON tasks (playbook_id, account_id, status);
CREATE INDEX tasks_created ON tasks (created_at, task_id);

CREATE TABLE playbooks (
    playbook_id   TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    definition    TEXT NOT NULL, -- JSON: trigger, filter, actions
    cooldown_days INTEGER NOT NULL DEFAULT 0,
    holdout_share DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (holdout_share >= 0 AND holdout_share <= 1),
    evaluated_at  BIGINT NOT NULL DEFAULT 0, -- the last recompute that evaluated it: event triggers look for events after it
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- A row means the trigger's condition held for the account at the last
-- evaluation (since then): a playbook fires on the false→true transition
-- only. Accounts whose condition is false have no row, so a recompute of a
-- million accounts writes only the few that changed.
CREATE TABLE playbook_states (
    playbook_id TEXT NOT NULL REFERENCES playbooks (playbook_id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    since       BIGINT NOT NULL,
    PRIMARY KEY (playbook_id, account_id)
);
CREATE INDEX playbook_states_account ON playbook_states (account_id);

CREATE TABLE enrollments (
    enrollment_id TEXT PRIMARY KEY,
    playbook_id   TEXT NOT NULL REFERENCES playbooks (playbook_id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    fired_at      BIGINT NOT NULL,
    holdout       INTEGER NOT NULL,
    task_id       TEXT,
    reason        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX enrollments_playbook ON enrollments (playbook_id, fired_at, enrollment_id);
CREATE INDEX enrollments_account ON enrollments (account_id, playbook_id, fired_at);

CREATE TABLE deliveries (
    delivery_id     TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('email', 'webhook', 'slack')),
    target          TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    secret          TEXT NOT NULL DEFAULT '', -- the webhook's signing secret; never shown
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    last_attempt_at BIGINT,
    next_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    playbook_id     TEXT,
    account_id      TEXT
);
CREATE INDEX deliveries_status ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_created ON deliveries (created_at, delivery_id);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE enrollments;
DROP TABLE playbook_states;
DROP TABLE playbooks;
DROP TABLE tasks;
