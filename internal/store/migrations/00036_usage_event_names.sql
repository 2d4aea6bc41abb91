-- +goose Up
-- The names of the events in usage_daily, kept by every writer of it, so
-- that the default key features (every event but login and setup) are a
-- read of a few rows: SELECT DISTINCT event FROM usage_daily read the whole
-- table (143 M rows at 1 M accounts) at every recompute. Rollup rows are
-- never deleted, so the list stays exact.
CREATE TABLE usage_event_names (
    event TEXT PRIMARY KEY
);
INSERT INTO usage_event_names (event) SELECT DISTINCT event FROM usage_daily;

-- +goose Down
DROP TABLE usage_event_names;
