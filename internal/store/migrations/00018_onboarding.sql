-- Onboarding (internal/onboarding): the definition (a rule read over a
-- window from signup), the milestone checklist and each account's result.

-- +goose Up
-- Every saved definition is kept; the one with the highest version is in
-- force. Results of other versions are stale and evaluated anew.
CREATE TABLE onboarding_definitions (
    version     INTEGER PRIMARY KEY,
    rule        TEXT NOT NULL,
    applies     TEXT NOT NULL DEFAULT '',
    window_days INTEGER NOT NULL,
    saved_at    BIGINT NOT NULL,
    saved_by    TEXT NOT NULL DEFAULT ''
);

CREATE TABLE onboarding_milestones (
    milestone_id TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    event        TEXT NOT NULL DEFAULT '',
    position     INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- One row per account and milestone once it was completed (from an event or
-- by hand) or uncompleted by hand: done = 0 rows keep the automatic
-- completion from undoing what a person decided.
CREATE TABLE onboarding_checklist (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    milestone_id TEXT NOT NULL REFERENCES onboarding_milestones (milestone_id) ON DELETE CASCADE,
    done         INTEGER NOT NULL,
    at           BIGINT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('event', 'manual')),
    by_actor     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, milestone_id)
);

-- The evaluation of the definition in force for each account: status is
-- completed, missed (the window closed without the rule holding), open
-- (the window is running; checked_day is the last day the rule was found
-- false) or not_applicable.
CREATE TABLE onboarding_results (
    account_id    TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    signup_day    INTEGER NOT NULL,
    window_days   INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('completed', 'missed', 'open', 'not_applicable')),
    completed_day INTEGER,
    checked_day   INTEGER NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX onboarding_results_signup ON onboarding_results (signup_day);

-- +goose Down
DROP TABLE onboarding_results;
DROP TABLE onboarding_checklist;
DROP TABLE onboarding_milestones;
DROP TABLE onboarding_definitions;
