-- Email verification, password reset and change (CONTRACT section 8).
-- Existing accounts start unverified. See the SQLite migration for the
-- tables' meaning.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE link_tokens (
    hash       TEXT        NOT NULL PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT        NOT NULL CHECK (kind IN ('verify_email', 'reset_password')),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);

CREATE INDEX link_tokens_user_kind_idx ON link_tokens (user_id, kind);
CREATE INDEX link_tokens_expires_at_idx ON link_tokens (expires_at);

CREATE TABLE mail_cooldowns (
    address_key TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    cool_until  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (address_key, kind)
);

CREATE INDEX mail_cooldowns_until_idx ON mail_cooldowns (cool_until);

CREATE TABLE email_outbox (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT      REFERENCES users (id) ON DELETE CASCADE,
    recipient       TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    subject         TEXT        NOT NULL DEFAULT '',
    text_body       TEXT        NOT NULL DEFAULT '',
    html_body       TEXT        NOT NULL DEFAULT '',
    status          TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_by      TEXT,
    claim_until     TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,
    last_error      TEXT        NOT NULL DEFAULT ''
);

CREATE INDEX email_outbox_due_idx ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_created_idx ON email_outbox (created_at);

-- +goose Down
DROP TABLE email_outbox;
DROP TABLE mail_cooldowns;
DROP TABLE link_tokens;
ALTER TABLE users DROP COLUMN email_verified;
