-- Stripe webhooks (internal/stripehook) and payment events (internal/billing).
-- One text for SQLite and PostgreSQL: times are unix seconds (BIGINT), money
-- is in the currency's minor unit as Kizuna counts it (BIGINT), ids are text.

-- +goose Up

-- Every Stripe event that was applied (or deliberately skipped as stale), so
-- that a redelivery of the same event is answered 200 without effect.
CREATE TABLE stripe_events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- The newest state Kizuna has applied of each Stripe object it follows.
-- Stripe delivers events at least once and in no particular order, so each
-- row remembers the created time (event_at) and the kind (event_rank:
-- created 0, updated 1, deleted 2) of the event it came from; an older event
-- is then skipped instead of overwriting newer state. object is the object as
-- that event carried it (JSON): a subscription is re-evaluated from it when
-- one of its discounts changes. A customer row with event_at 0 stands for a
-- customer known only from its subscriptions or invoices; its account_id is
-- the account those were filed under (the customer id). customer_id links
-- subscriptions, discounts and invoices to their customer, whose account
-- they follow when its kizuna_account_id changes.
CREATE TABLE stripe_objects (
    object_id   TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('customer', 'subscription', 'discount', 'invoice')),
    customer_id TEXT NOT NULL DEFAULT '',
    account_id  TEXT NOT NULL DEFAULT '',
    event_at    BIGINT NOT NULL,
    event_rank  INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT '',
    object      TEXT NOT NULL DEFAULT '',
    updated_at  BIGINT NOT NULL
);
CREATE INDEX stripe_objects_customer ON stripe_objects (customer_id, kind);

-- Invoice payments and failed payment attempts, read by health. One row per
-- invoice, kind and time, so recording the same attempt twice is harmless.
CREATE TABLE payment_events (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    invoice_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('paid', 'failed')),
    amount_minor BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    at           BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, kind, at)
);
CREATE INDEX payment_events_account ON payment_events (account_id, kind, at);

-- +goose Down
DROP TABLE payment_events;
DROP TABLE stripe_objects;
DROP TABLE stripe_events;
