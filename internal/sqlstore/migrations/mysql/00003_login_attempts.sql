-- Lockout counters (auth.Lockout). failures counts failed attempts,
-- pending the reservations still in progress; a row expires lockout
-- duration after updated_at. attempt_key rather than key: KEY is reserved
-- in MySQL.
--
-- attempt_key is VARBINARY (exact, like the session ids) and at most 512
-- bytes, well inside InnoDB's 3072-byte index limit; the store hashes a
-- longer key (sha256:<hex>), since a login's email, part of the key, is
-- only validated after its attempt is counted.

-- +goose Up
CREATE TABLE login_attempts (
    attempt_key  VARBINARY(512) NOT NULL PRIMARY KEY,
    failures     INT            NOT NULL DEFAULT 0,
    pending      INT            NOT NULL DEFAULT 0,
    locked_until DATETIME(6)    NULL,
    updated_at   DATETIME(6)    NOT NULL,
    KEY login_attempts_updated_at_idx (updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE login_attempts;
