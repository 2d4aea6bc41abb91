-- Every version of every subscription period, with when Kizuna knew it
-- [known_from, known_to): what metrics "as of" a past moment read, so a
-- report re-run later gives the same answer and a correction shows as one.
-- Triggers keep it, so no write path (import, API, Stripe, cascade) can forget.
-- The new version's time is the row's updated_at, which every writer sets
-- from one clock; a deletion, which has no new row, takes the wall clock.
CREATE TABLE subscription_period_versions (
    subscription_id TEXT NOT NULL,
    start_at        BIGINT NOT NULL,
    end_at          BIGINT,
    account_id      TEXT NOT NULL,
    mrr_minor       BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    plan            TEXT NOT NULL,
    product         TEXT NOT NULL,
    quantity        DOUBLE PRECISION,
    known_from      BIGINT NOT NULL,
    known_to        BIGINT
);
CREATE INDEX subscription_period_versions_open ON subscription_period_versions (subscription_id, start_at) WHERE known_to IS NULL;

-- What was stored before versions were kept is taken as known since it was recorded.
INSERT INTO subscription_period_versions
SELECT subscription_id, start_at, end_at, account_id, mrr_minor, currency, plan, product, quantity, recorded_at, NULL
FROM subscription_periods;

CREATE TRIGGER subscription_periods_version_insert AFTER INSERT ON subscription_periods
BEGIN
    INSERT INTO subscription_period_versions VALUES (NEW.subscription_id, NEW.start_at, NEW.end_at, NEW.account_id,
        NEW.mrr_minor, NEW.currency, NEW.plan, NEW.product, NEW.quantity, NEW.updated_at, NULL);
END;

CREATE TRIGGER subscription_periods_version_update AFTER UPDATE ON subscription_periods
WHEN OLD.subscription_id IS NOT NEW.subscription_id OR OLD.start_at IS NOT NEW.start_at OR OLD.end_at IS NOT NEW.end_at
    OR OLD.account_id IS NOT NEW.account_id OR OLD.mrr_minor IS NOT NEW.mrr_minor OR OLD.currency IS NOT NEW.currency
    OR OLD.plan IS NOT NEW.plan OR OLD.product IS NOT NEW.product OR OLD.quantity IS NOT NEW.quantity
BEGIN
    UPDATE subscription_period_versions SET known_to = NEW.updated_at
    WHERE subscription_id = OLD.subscription_id AND start_at = OLD.start_at AND known_to IS NULL;
    INSERT INTO subscription_period_versions VALUES (NEW.subscription_id, NEW.start_at, NEW.end_at, NEW.account_id,
        NEW.mrr_minor, NEW.currency, NEW.plan, NEW.product, NEW.quantity, NEW.updated_at, NULL);
END;

CREATE TRIGGER subscription_periods_version_delete AFTER DELETE ON subscription_periods
BEGIN
    UPDATE subscription_period_versions SET known_to = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE subscription_id = OLD.subscription_id AND start_at = OLD.start_at AND known_to IS NULL;
END;

-- Exchange rates the same way: a corrected rate shows as a correction. Rates
-- carry no time of their own, so versions take the wall clock; those stored
-- before are taken as always known.
CREATE TABLE fx_rate_versions (
    currency   TEXT NOT NULL,
    day        INTEGER NOT NULL,
    rate       DOUBLE PRECISION NOT NULL,
    known_from BIGINT NOT NULL,
    known_to   BIGINT
);
INSERT INTO fx_rate_versions SELECT currency, day, rate, 0, NULL FROM fx_rates;

CREATE TRIGGER fx_rates_version_insert AFTER INSERT ON fx_rates
BEGIN
    INSERT INTO fx_rate_versions VALUES (NEW.currency, NEW.day, NEW.rate, CAST(strftime('%s', 'now') AS INTEGER), NULL);
END;

CREATE TRIGGER fx_rates_version_update AFTER UPDATE ON fx_rates
WHEN OLD.currency IS NOT NEW.currency OR OLD.day IS NOT NEW.day OR OLD.rate IS NOT NEW.rate
BEGIN
    UPDATE fx_rate_versions SET known_to = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE currency = OLD.currency AND day = OLD.day AND known_to IS NULL;
    INSERT INTO fx_rate_versions VALUES (NEW.currency, NEW.day, NEW.rate, CAST(strftime('%s', 'now') AS INTEGER), NULL);
END;

CREATE TRIGGER fx_rates_version_delete AFTER DELETE ON fx_rates
BEGIN
    UPDATE fx_rate_versions SET known_to = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE currency = OLD.currency AND day = OLD.day AND known_to IS NULL;
END;
