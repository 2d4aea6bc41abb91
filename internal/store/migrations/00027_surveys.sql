-- Surveys sent by email and answered on a public page (issue 9,
-- internal/survey). A survey is what is asked (NPS, CSAT or CES), in
-- English and Japanese, with the email's subject and body templates, whom
-- it goes to (a segment's accounts, or every account: their contacts with
-- an email) and how often a contact may be asked. A send is one email to
-- one contact with its own response link; only the SHA-256 of the link's
-- token is kept. The answers themselves are survey_responses rows like
-- any other (the survey column holds the survey_id), so health, the
-- timeline, the metrics and the NPS-detractor playbook trigger see them.
-- Unsubscribing is by email address and stops every survey.

-- +goose Up
CREATE TABLE surveys (
    survey_id         TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    question_en       TEXT NOT NULL,
    question_ja       TEXT NOT NULL DEFAULT '',
    subject_en        TEXT NOT NULL,
    body_en           TEXT NOT NULL,
    subject_ja        TEXT NOT NULL DEFAULT '',
    body_ja           TEXT NOT NULL DEFAULT '',
    language          TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ja')),
    segment_id        TEXT NOT NULL DEFAULT '',
    throttle_days     INTEGER NOT NULL DEFAULT 90,
    max_per_run       INTEGER NOT NULL DEFAULT 500,
    max_per_hour      INTEGER NOT NULL DEFAULT 1000,
    public_token_hash TEXT UNIQUE,
    status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    created_by        TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE survey_sends (
    send_id      TEXT PRIMARY KEY,
    survey_id    TEXT NOT NULL REFERENCES surveys (survey_id) ON DELETE CASCADE,
    contact_id   TEXT NOT NULL REFERENCES contacts (contact_id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    language     TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    delivery_id  TEXT NOT NULL DEFAULT '',
    sent_at      BIGINT NOT NULL,
    responded_at BIGINT
);
CREATE INDEX survey_sends_contact ON survey_sends (contact_id, sent_at);
CREATE INDEX survey_sends_survey ON survey_sends (survey_id, sent_at);

CREATE TABLE survey_unsubscribes (
    email      TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);

-- Extra email headers of a delivery (List-Unsubscribe on survey emails),
-- as a JSON object; '' for none.
ALTER TABLE deliveries ADD COLUMN headers TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN headers;
DROP TABLE survey_unsubscribes;
DROP TABLE survey_sends;
DROP TABLE surveys;
