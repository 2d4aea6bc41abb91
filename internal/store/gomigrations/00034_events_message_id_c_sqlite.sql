-- Nothing to do on SQLite: its TEXT columns compare bytewise already (see
-- the PostgreSQL side).
SELECT 1;
