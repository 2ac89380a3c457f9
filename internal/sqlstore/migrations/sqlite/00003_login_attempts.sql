-- Lockout counters (auth.Lockout). failures counts failed attempts,
-- pending the reservations still in progress; a row expires lockout
-- duration after updated_at. attempt_key rather than key: KEY is reserved
-- in MySQL.

-- +goose Up
CREATE TABLE login_attempts (
    attempt_key  TEXT    NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    pending      INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX login_attempts_updated_at_idx ON login_attempts (updated_at);

-- +goose Down
DROP TABLE login_attempts;
