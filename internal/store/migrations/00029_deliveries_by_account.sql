-- An account's deliveries (its timeline on the account page, the API's
-- ?account_id= filter), newest first, without reading every delivery.

-- +goose Up
CREATE INDEX deliveries_account ON deliveries (account_id, created_at, delivery_id);

-- +goose Down
DROP INDEX deliveries_account;
