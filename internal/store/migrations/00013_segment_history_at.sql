-- Snapshots read segment membership as of their instant from the changes
-- after it (internal/snapshot); for a snapshot of now there are none, and
-- this index makes finding that out a seek instead of a scan.

-- +goose Up
CREATE INDEX segment_history_at ON segment_history (at);

-- +goose Down
DROP INDEX segment_history_at;
