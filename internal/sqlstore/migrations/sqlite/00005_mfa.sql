-- Multi-factor authentication: TOTP factors, recovery codes, the
-- challenges of two-step logins, and the assurance level of sessions.
--
-- users.mfa_enabled says whether the account has an active factor, kept
-- in step by the store's transactions, so that a login reads it with the
-- user row and accounts without factors pay no extra query.

-- +goose Up
ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1));

-- aal is 1 or 2; amr the RFC 8176 methods, comma-separated.
ALTER TABLE sessions ADD COLUMN aal INTEGER NOT NULL DEFAULT 1 CHECK (aal IN (1, 2));
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- secret is sealed (AES-256-GCM) under the key key_id names, or stored
-- as is under key_id 'plain' (development without a key). last_step is
-- the last TOTP time step accepted, -1 for none: no code at or before it
-- is accepted again.
CREATE TABLE mfa_factors (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT    NOT NULL,
    secret       TEXT    NOT NULL,
    key_id       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    last_used_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT -1
) STRICT, WITHOUT ROWID;

CREATE INDEX mfa_factors_user_id_idx ON mfa_factors (user_id);

CREATE TABLE mfa_recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

-- A challenge is the mfa_token of a login that got past its password:
-- only its hash is kept.
CREATE TABLE mfa_challenges (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_ip  TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    spent_at   INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_factors;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN aal;
ALTER TABLE users DROP COLUMN mfa_enabled;
