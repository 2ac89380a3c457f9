-- The audit log of security events and the admin API's keys (contract
-- section 10). audit_events.user_id has no foreign key: an account's
-- history outlives the account.

-- +goose Up
CREATE TABLE audit_events (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    event       VARCHAR(64) NOT NULL,
    user_id     BIGINT,
    actor       VARCHAR(80) NOT NULL,
    client_ip   TEXT        NOT NULL DEFAULT '',
    user_agent  TEXT        NOT NULL DEFAULT '',
    request_id  TEXT        NOT NULL DEFAULT '',
    details     JSONB       NOT NULL DEFAULT '{}'
);

-- GET /admin/audit?user_id= and ?event=, newest first; occurred_at alone
-- serves the unfiltered listing and retention pruning.
CREATE INDEX audit_events_user_idx ON audit_events (user_id, occurred_at);
CREATE INDEX audit_events_event_idx ON audit_events (event, occurred_at);
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);

-- Only the SHA-256 of a key is kept (hex); the key is shown once.
CREATE TABLE admin_keys (
    name         VARCHAR(64) NOT NULL PRIMARY KEY,
    key_hash     CHAR(64)    NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    CONSTRAINT admin_keys_key_hash_key UNIQUE (key_hash)
);

-- +goose Down
DROP TABLE admin_keys;
DROP TABLE audit_events;
