-- Prospects (見込み顧客, DESIGN.md C13): what sales records about a trial
-- account beyond its attributes: a class set by hand over the seeded one,
-- the barriers to adoption, the outcome wanted, the trial success criteria,
-- and how the trial ended. Owned by internal/prospect. A trial account has
-- no row until something is recorded about it.

-- +goose Up
CREATE TABLE prospects (
    account_id      TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    class_override  TEXT CHECK (class_override IN ('decided', 'undecided', 'browsing')),
    override_by     TEXT NOT NULL DEFAULT '',
    override_reason TEXT NOT NULL DEFAULT '',
    override_at     BIGINT,
    barriers        TEXT NOT NULL DEFAULT '',
    desired_outcome TEXT NOT NULL DEFAULT '',
    trial_criteria  TEXT NOT NULL DEFAULT '[]',
    status          TEXT NOT NULL DEFAULT 'trial' CHECK (status IN ('trial', 'converted', 'lost')),
    final_class     TEXT NOT NULL DEFAULT '',
    closed_at       BIGINT,
    closed_by       TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX prospects_status ON prospects (status);

-- +goose Down
DROP TABLE prospects;
