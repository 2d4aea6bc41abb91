-- The customer record (DESIGN.md C1, C2, C15). One text for SQLite and PostgreSQL:
-- times are unix seconds (BIGINT), days are days since 1970-01-01 (INTEGER),
-- money is in the currency's minor unit (BIGINT; JPY has none), ids are text.
-- recorded_at / updated_at say when a row entered or last changed in Kizuna.

-- +goose Up
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('reporting_currency', 'USD');

CREATE TABLE users (
    user_id       TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'csm', 'viewer')),
    password_hash TEXT NOT NULL DEFAULT '',
    recorded_at   BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE accounts (
    account_id        TEXT PRIMARY KEY,
    name              TEXT NOT NULL DEFAULT '',
    signup_at         BIGINT,
    owner_email       TEXT,
    parent_account_id TEXT,
    recorded_at       BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX accounts_owner ON accounts (owner_email);

-- Custom attributes: values are kept as text and read through the column's
-- type, which is inferred over every value ever imported (number, boolean, date, text).
CREATE TABLE attribute_defs (
    object TEXT NOT NULL,
    name   TEXT NOT NULL,
    type   TEXT NOT NULL CHECK (type IN ('number', 'boolean', 'date', 'text')),
    PRIMARY KEY (object, name)
);
CREATE TABLE account_attributes (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE contacts (
    contact_id  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    email       TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT '',
    recorded_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id);
CREATE TABLE contact_attributes (
    contact_id TEXT NOT NULL REFERENCES contacts (contact_id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (contact_id, name)
);

-- One row is one period at one price; end_at is exclusive, NULL while open.
CREATE TABLE subscription_periods (
    subscription_id TEXT NOT NULL,
    start_at        BIGINT NOT NULL,
    end_at          BIGINT,
    account_id      TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    mrr_minor       BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    plan            TEXT NOT NULL DEFAULT '',
    product         TEXT NOT NULL DEFAULT '',
    quantity        DOUBLE PRECISION,
    recorded_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, start_at),
    CHECK (end_at IS NULL OR end_at > start_at)
);
CREATE INDEX subscription_periods_account ON subscription_periods (account_id, start_at);

-- rate = units of the reporting currency for one unit of currency, from day on.
CREATE TABLE fx_rates (
    currency TEXT NOT NULL,
    day      INTEGER NOT NULL,
    rate     DOUBLE PRECISION NOT NULL CHECK (rate > 0),
    PRIMARY KEY (currency, day)
);

-- Raw usage events, de-duplicated by message_id (or a hash of all fields when a
-- source gives none). account_id is NULL while the account is not known yet.
-- Nothing reads raw events by time: health, risk and onboarding read the
-- rollups below. So there is deliberately no index on ts: imported history
-- arrives in any time order, and such an index made inserting a million
-- events spread over 90 days about 35% slower on SQLite and 45% slower on
-- PostgreSQL. Retention deletes old events with one sequential scan a day
-- (DELETE … WHERE ts < cutoff), about the cost of reading the table once.
-- The partial index costs nothing for attributed events; it finds the
-- unattributed ones to attribute when a user's account becomes known.
CREATE TABLE events (
    message_id  TEXT PRIMARY KEY,
    account_id  TEXT,
    user_id     TEXT NOT NULL DEFAULT '',
    event       TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    properties  TEXT NOT NULL DEFAULT '{}',
    recorded_at BIGINT NOT NULL
);
CREATE INDEX events_unattributed ON events (user_id) WHERE account_id IS NULL;

-- Daily rollups: what health, risk and onboarding read.
CREATE TABLE usage_daily (
    account_id TEXT NOT NULL,
    day        INTEGER NOT NULL,
    event      TEXT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (account_id, day, event)
);
CREATE TABLE usage_daily_users (
    account_id TEXT NOT NULL,
    day        INTEGER NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (account_id, day, user_id)
);

CREATE TABLE tickets (
    ticket_id   TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    opened_at   BIGINT NOT NULL,
    closed_at   BIGINT,
    status      TEXT NOT NULL DEFAULT '',
    priority    TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    csat        INTEGER,
    recorded_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX tickets_account ON tickets (account_id, opened_at);

CREATE TABLE survey_responses (
    response_id TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL DEFAULT '',
    survey      TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    score       INTEGER NOT NULL,
    comment     TEXT NOT NULL DEFAULT '',
    answered_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX survey_responses_account ON survey_responses (account_id, answered_at);

CREATE TABLE orders (
    order_id     TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    ordered_at   BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX orders_account ON orders (account_id, ordered_at);

CREATE TABLE costs (
    month        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('acquisition', 'retention')),
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (month, kind, currency)
);

CREATE TABLE feedback (
    feedback_id TEXT PRIMARY KEY,
    account_id  TEXT REFERENCES accounts (account_id) ON DELETE SET NULL,
    category    TEXT NOT NULL CHECK (category IN ('feature', 'ui_ux', 'performance', 'support', 'other')),
    text        TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The activity timeline.
CREATE TABLE notes (
    note_id      TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('note', 'call', 'meeting', 'email')),
    body         TEXT NOT NULL,
    author_email TEXT NOT NULL DEFAULT '',
    occurred_at  BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX notes_account ON notes (account_id, occurred_at);

-- The sales → CS handoff (引き継ぎ): one per account.
CREATE TABLE handoffs (
    account_id       TEXT PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    why_bought       TEXT NOT NULL DEFAULT '',
    challenges       TEXT NOT NULL DEFAULT '',
    proposed         TEXT NOT NULL DEFAULT '',
    promised         TEXT NOT NULL DEFAULT '',
    success_criteria TEXT NOT NULL DEFAULT '',
    decision_makers  TEXT NOT NULL DEFAULT '',
    author_email     TEXT NOT NULL DEFAULT '',
    recorded_at      BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- +goose Down
DROP TABLE handoffs;
DROP TABLE notes;
DROP TABLE feedback;
DROP TABLE costs;
DROP TABLE orders;
DROP TABLE survey_responses;
DROP TABLE tickets;
DROP TABLE usage_daily_users;
DROP TABLE usage_daily;
DROP TABLE events;
DROP TABLE fx_rates;
DROP TABLE subscription_periods;
DROP TABLE contact_attributes;
DROP TABLE contacts;
DROP TABLE account_attributes;
DROP TABLE attribute_defs;
DROP TABLE accounts;
DROP TABLE users;
DROP TABLE settings;
