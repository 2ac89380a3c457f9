-- Email verification, password reset and change (CONTRACT section 8).
-- Existing accounts start unverified.
--
-- link_tokens holds the SHA-256 of each one-time token sent by email, never
-- the token; a token is live while used_at is NULL and expires_at is in the
-- future. mail_cooldowns keeps, per address (a SHA-256 of the normalised
-- email, known account or not) and kind, until when no other email of that
-- kind may be queued. email_outbox is the queue the sender delivers from;
-- a message's subject and bodies are emptied once it is sent or failed.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));

CREATE TABLE link_tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('verify_email', 'reset_password')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX link_tokens_user_kind_idx ON link_tokens (user_id, kind);
CREATE INDEX link_tokens_expires_at_idx ON link_tokens (expires_at);

CREATE TABLE mail_cooldowns (
    address_key TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    cool_until  INTEGER NOT NULL,
    PRIMARY KEY (address_key, kind)
) STRICT, WITHOUT ROWID;

CREATE INDEX mail_cooldowns_until_idx ON mail_cooldowns (cool_until);

CREATE TABLE email_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    recipient       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    subject         TEXT    NOT NULL DEFAULT '',
    text_body       TEXT    NOT NULL DEFAULT '',
    html_body       TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_by      TEXT,
    claim_until     INTEGER,
    sent_at         INTEGER,
    last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX email_outbox_due_idx ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_created_idx ON email_outbox (created_at);

-- +goose Down
DROP TABLE email_outbox;
DROP TABLE mail_cooldowns;
DROP TABLE link_tokens;
ALTER TABLE users DROP COLUMN email_verified;
