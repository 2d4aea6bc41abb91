-- Success plans (サクセスプラン, DESIGN.md C9): per account, the customer's
-- goals with a measurable success criterion (a rule or a metric with a target
-- on the account snapshot, or progress kept by hand), milestones with owners
-- and due dates, and the links that show the plan to the customer. Owned by
-- internal/successplan.

-- +goose Up
CREATE TABLE success_plans (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    title       TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ja')),
    status      TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'completed', 'archived')),
    owner_email TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE success_goals (
    goal_id        TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES success_plans (account_id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    tracking       TEXT NOT NULL CHECK (tracking IN ('rule', 'metric', 'manual')),
    rule           TEXT NOT NULL DEFAULT '',
    metric         TEXT NOT NULL DEFAULT '',
    baseline       DOUBLE PRECISION,
    target         DOUBLE PRECISION,
    manual_percent DOUBLE PRECISION NOT NULL DEFAULT 0,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'agreed', 'achieved', 'dropped')),
    source         TEXT NOT NULL DEFAULT 'manual',
    due_at         BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX success_goals_account ON success_goals (account_id, position);

CREATE TABLE success_milestones (
    milestone_id TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES success_plans (account_id) ON DELETE CASCADE,
    goal_id      TEXT REFERENCES success_goals (goal_id) ON DELETE SET NULL,
    position     INTEGER NOT NULL,
    title        TEXT NOT NULL,
    owner_email  TEXT NOT NULL DEFAULT '',
    due_at       BIGINT,
    status       TEXT NOT NULL CHECK (status IN ('open', 'done', 'skipped')),
    completed_at BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX success_milestones_account ON success_milestones (account_id, position);

-- A share is a link for the customer: only the SHA-256 of its token is
-- stored, as for API keys, so the database does not hold working links.
CREATE TABLE success_plan_shares (
    share_id   TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES success_plans (account_id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX success_plan_shares_account ON success_plan_shares (account_id);

-- +goose Down
DROP TABLE success_plan_shares;
DROP TABLE success_milestones;
DROP TABLE success_goals;
DROP TABLE success_plans;
