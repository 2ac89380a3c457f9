-- Multi-factor authentication: TOTP factors, recovery codes, the
-- challenges of two-step logins, and the assurance level of sessions.
--
-- users.mfa_enabled says whether the account has an active factor, kept
-- in step by the store's transactions, so that a login reads it with the
-- user row and accounts without factors pay no extra query. Ids and
-- hashes are VARBINARY for the reasons 00002 gives.

-- +goose Up
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- aal is 1 or 2; amr the RFC 8176 methods, comma-separated.
ALTER TABLE sessions ADD COLUMN aal SMALLINT NOT NULL DEFAULT 1, ADD COLUMN amr VARCHAR(64) NOT NULL DEFAULT 'pwd';

-- secret is sealed (AES-256-GCM) under the key key_id names, or stored
-- as is under key_id 'plain' (development without a key). last_step is
-- the last TOTP time step accepted, -1 for none: no code at or before it
-- is accepted again.
CREATE TABLE mfa_factors (
    id           VARBINARY(128) NOT NULL PRIMARY KEY,
    user_id      BIGINT         NOT NULL,
    type         VARCHAR(16)    NOT NULL,
    secret       VARCHAR(512)   NOT NULL,
    key_id       VARCHAR(64)    NOT NULL,
    created_at   DATETIME(6)    NOT NULL,
    activated_at DATETIME(6)    NULL,
    last_used_at DATETIME(6)    NULL,
    last_step    BIGINT         NOT NULL DEFAULT -1,
    KEY mfa_factors_user_id_idx (user_id),
    CONSTRAINT mfa_factors_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE mfa_recovery_codes (
    user_id    BIGINT         NOT NULL,
    code_hash  VARBINARY(128) NOT NULL,
    created_at DATETIME(6)    NOT NULL,
    used_at    DATETIME(6)    NULL,
    PRIMARY KEY (user_id, code_hash),
    CONSTRAINT mfa_recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- A challenge is the mfa_token of a login that got past its password:
-- only its hash is kept.
CREATE TABLE mfa_challenges (
    token_hash VARBINARY(128) NOT NULL PRIMARY KEY,
    user_id    BIGINT         NOT NULL,
    client_ip  VARCHAR(255)   NOT NULL DEFAULT '',
    user_agent VARCHAR(1024)  NOT NULL DEFAULT '',
    created_at DATETIME(6)    NOT NULL,
    expires_at DATETIME(6)    NOT NULL,
    failures   INT            NOT NULL DEFAULT 0,
    spent_at   DATETIME(6)    NULL,
    KEY mfa_challenges_user_id_idx (user_id),
    CONSTRAINT mfa_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_factors;
ALTER TABLE sessions DROP COLUMN amr, DROP COLUMN aal;
ALTER TABLE users DROP COLUMN mfa_enabled;
