-- The UI's language per user (issue 6): '' follows the browser's
-- Accept-Language, otherwise a tag the UI has a catalog for (en, ja).

-- +goose Up
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN language;
