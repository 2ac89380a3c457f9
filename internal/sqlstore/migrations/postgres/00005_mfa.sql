-- Multi-factor authentication: TOTP factors, recovery codes, the
-- challenges of two-step logins, and the assurance level of sessions.
--
-- users.mfa_enabled says whether the account has an active factor, kept
-- in step by the store's transactions, so that a login reads it with the
-- user row and accounts without factors pay no extra query.

-- +goose Up
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- aal is 1 or 2; amr the RFC 8176 methods, comma-separated.
ALTER TABLE sessions ADD COLUMN aal SMALLINT NOT NULL DEFAULT 1 CHECK (aal IN (1, 2));
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- secret is sealed (AES-256-GCM) under the key key_id names, or stored
-- as is under key_id 'plain' (development without a key). last_step is
-- the last TOTP time step accepted, -1 for none: no code at or before it
-- is accepted again.
CREATE TABLE mfa_factors (
    id           TEXT        NOT NULL PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT        NOT NULL,
    secret       TEXT        NOT NULL,
    key_id       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    activated_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    last_step    BIGINT      NOT NULL DEFAULT -1
);

CREATE INDEX mfa_factors_user_id_idx ON mfa_factors (user_id);

CREATE TABLE mfa_recovery_codes (
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

-- A challenge is the mfa_token of a login that got past its password:
-- only its hash is kept.
CREATE TABLE mfa_challenges (
    token_hash TEXT        NOT NULL PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_ip  TEXT        NOT NULL DEFAULT '',
    user_agent TEXT        NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    failures   INTEGER     NOT NULL DEFAULT 0,
    spent_at   TIMESTAMPTZ
);

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_factors;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN aal;
ALTER TABLE users DROP COLUMN mfa_enabled;
