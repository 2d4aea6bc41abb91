-- Product requests (issue 9, internal/feedback): feedback items that ask
-- for the same thing, grouped so that they can be ranked by how many ask
-- and by the ARR of the accounts asking, and closed with a note to the
-- CSMs of those accounts. Merging a duplicate moves its items to the kept
-- request and leaves the duplicate as a pointer (merged_into) so that an
-- old link still finds where its items went.

-- +goose Up
CREATE TABLE product_requests (
    request_id        TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL DEFAULT 'feature' CHECK (category IN ('feature', 'ui_ux', 'performance', 'support', 'other')),
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'planned', 'shipped', 'declined')),
    status_note       TEXT NOT NULL DEFAULT '',
    merged_into       TEXT REFERENCES product_requests (request_id) ON DELETE SET NULL,
    created_by        TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    status_changed_at BIGINT
);
CREATE INDEX product_requests_status ON product_requests (status);

-- No foreign key: SQLite could not drop the column again. Requests are never
-- deleted (a duplicate is merged), so the link cannot dangle.
ALTER TABLE feedback ADD COLUMN request_id TEXT;
CREATE INDEX feedback_request ON feedback (request_id);

-- +goose Down
DROP INDEX feedback_request;
ALTER TABLE feedback DROP COLUMN request_id;
DROP TABLE product_requests;
