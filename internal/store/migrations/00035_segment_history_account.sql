-- +goose Up
-- A snapshot of a past day reads each account's memberships as of then:
-- its history after that instant, by account and segment. Without this
-- index both databases scanned the segment's whole history after the
-- instant for every member (segment_history's key starts with segment and
-- time), which made a first recompute's onboarding backfill of 100,000
-- accounts, a snapshot per account and day, run for more than ten minutes.
CREATE INDEX segment_history_account ON segment_history (account_id, segment_id, at);

-- +goose Down
DROP INDEX segment_history_account;
