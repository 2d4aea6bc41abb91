-- Lifecycle stages (internal/lifecycle, DESIGN.md C8): the stage definitions
-- (a rule each, tried in ascending priority; the first that matches sets an
-- account's stage), each account's current stage, and the history of
-- changes, from which time in stage and the stage at any past instant follow.

-- +goose Up
CREATE TABLE lifecycle_stages (
    stage_id    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rule        TEXT NOT NULL,
    priority    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The defaults. Onboarding comes before at_risk: a new customer's usage is
-- still low, so its health is often red, and the onboarding playbooks are the
-- ones that help it. Renewal comes before expansion: the upsell is talked
-- about in the renewal conversation. The onboarding rule names the unfinished
-- statuses (not "!= done") and a time bound, so that a customer that never
-- completed onboarding years ago is not onboarding for ever.
INSERT INTO lifecycle_stages (stage_id, name, description, rule, priority, created_at, updated_at) VALUES
('prospect', 'Prospect', 'A trial account that has not bought yet (the account attribute lifecycle = trial).',
    'attr["lifecycle"] == "trial" && !customer', 10, 0, 0),
('churned', 'Churned', 'No current paying subscription, though it had one.',
    '!customer && tenure_days > 0', 20, 0, 0),
('onboarding', 'Onboarding', 'A paying customer in its first 90 days whose onboarding is not complete.',
    'customer && onboarding_status in ["in_progress", "overdue"] && signup_days < 90', 30, 0, 0),
('at_risk', 'At risk', 'A paying customer whose health is red or whose CSM feels it is.',
    'customer && (health_band == "red" || csm_sentiment == "red")', 40, 0, 0),
('renewal', 'Renewal', 'A paying customer whose subscription ends within 90 days.',
    'customer && days_to_renewal >= 0 && days_to_renewal <= 90', 50, 0, 0),
('expansion', 'Expansion', 'A paying customer that uses nearly all its seats, or is healthy and uses most key features: ready for an upsell.',
    'customer && (seat_utilization >= 0.9 || (health_band == "green" && adoption_breadth >= 0.8))', 60, 0, 0),
('adoption', 'Adoption', 'Every other paying customer: using the product, growing its use.',
    'customer', 70, 0, 0);

CREATE TABLE account_stages (
    account_id TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    stage_id   TEXT NOT NULL,
    entered_at BIGINT NOT NULL
);
CREATE INDEX account_stages_stage ON account_stages (stage_id);

-- One row per change: from at on, the account is in stage_id ('' for no
-- stage) until its next row. Consecutive rows of an account never repeat a
-- stage, and its first row is never ''.
CREATE TABLE stage_history (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    stage_id   TEXT NOT NULL,
    PRIMARY KEY (account_id, at)
);

-- +goose Down
DROP TABLE stage_history;
DROP TABLE account_stages;
DROP TABLE lifecycle_stages;
