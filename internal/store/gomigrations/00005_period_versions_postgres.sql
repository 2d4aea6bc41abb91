-- Every version of every subscription period, with when Kizuna knew it
-- [known_from, known_to): see 00005_period_versions_sqlite.sql. Same table,
-- same rules; PostgreSQL triggers call a function. Wall-clock times are
-- whole seconds rounded down, as on SQLite: a CAST alone rounds to the
-- nearest, putting a version up to half a second in the future.
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

INSERT INTO subscription_period_versions
SELECT subscription_id, start_at, end_at, account_id, mrr_minor, currency, plan, product, quantity, recorded_at, NULL
FROM subscription_periods;

CREATE FUNCTION subscription_periods_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE subscription_period_versions SET known_to = CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp())) AS BIGINT)
        WHERE subscription_id = OLD.subscription_id AND start_at = OLD.start_at AND known_to IS NULL;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        UPDATE subscription_period_versions SET known_to = NEW.updated_at
        WHERE subscription_id = OLD.subscription_id AND start_at = OLD.start_at AND known_to IS NULL;
    END IF;
    INSERT INTO subscription_period_versions VALUES (NEW.subscription_id, NEW.start_at, NEW.end_at, NEW.account_id,
        NEW.mrr_minor, NEW.currency, NEW.plan, NEW.product, NEW.quantity, NEW.updated_at, NULL);
    RETURN NULL;
END
$$;

CREATE TRIGGER subscription_periods_version_insert AFTER INSERT OR DELETE ON subscription_periods
FOR EACH ROW EXECUTE FUNCTION subscription_periods_version();

CREATE TRIGGER subscription_periods_version_update AFTER UPDATE ON subscription_periods
FOR EACH ROW WHEN ((OLD.subscription_id, OLD.start_at, OLD.end_at, OLD.account_id, OLD.mrr_minor, OLD.currency,
    OLD.plan, OLD.product, OLD.quantity) IS DISTINCT FROM (NEW.subscription_id, NEW.start_at, NEW.end_at,
    NEW.account_id, NEW.mrr_minor, NEW.currency, NEW.plan, NEW.product, NEW.quantity))
EXECUTE FUNCTION subscription_periods_version();

-- Exchange rates the same way (see the SQLite file).
CREATE TABLE fx_rate_versions (
    currency   TEXT NOT NULL,
    day        INTEGER NOT NULL,
    rate       DOUBLE PRECISION NOT NULL,
    known_from BIGINT NOT NULL,
    known_to   BIGINT
);
INSERT INTO fx_rate_versions SELECT currency, day, rate, 0, NULL FROM fx_rates;

CREATE FUNCTION fx_rates_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    now_s BIGINT := CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp())) AS BIGINT);
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE fx_rate_versions SET known_to = now_s
        WHERE currency = OLD.currency AND day = OLD.day AND known_to IS NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO fx_rate_versions VALUES (NEW.currency, NEW.day, NEW.rate, now_s, NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER fx_rates_version_change AFTER INSERT OR DELETE ON fx_rates
FOR EACH ROW EXECUTE FUNCTION fx_rates_version();

CREATE TRIGGER fx_rates_version_update AFTER UPDATE ON fx_rates
FOR EACH ROW WHEN ((OLD.currency, OLD.day, OLD.rate) IS DISTINCT FROM (NEW.currency, NEW.day, NEW.rate))
EXECUTE FUNCTION fx_rates_version();
