-- The audit log of security events and the admin API's keys (contract
-- section 10). audit_events.user_id has no foreign key: an account's
-- history outlives the account. Times are INTEGER Unix nanoseconds in UTC,
-- as everywhere in this schema.

-- +goose Up
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at INTEGER NOT NULL,
    event       TEXT    NOT NULL CHECK (length(event) <= 64),
    user_id     INTEGER,
    actor       TEXT    NOT NULL CHECK (length(actor) <= 80),
    client_ip   TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    details     TEXT    NOT NULL DEFAULT '{}'
) STRICT;

-- GET /admin/audit?user_id= and ?event=, newest first; occurred_at alone
-- serves the unfiltered listing and retention pruning.
CREATE INDEX audit_events_user_idx ON audit_events (user_id, occurred_at);
CREATE INDEX audit_events_event_idx ON audit_events (event, occurred_at);
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);

-- Only the SHA-256 of a key is kept (hex); the key is shown once.
CREATE TABLE admin_keys (
    name         TEXT    NOT NULL PRIMARY KEY CHECK (length(name) <= 64),
    key_hash     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

CREATE UNIQUE INDEX admin_keys_key_hash_key ON admin_keys (key_hash);

-- +goose Down
DROP TABLE admin_keys;
DROP TABLE audit_events;
