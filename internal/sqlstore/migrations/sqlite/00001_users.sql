-- The seed's users table. Times are INTEGER Unix nanoseconds in UTC, so
-- comparisons in SQL are plain integer comparisons. STRICT makes SQLite
-- refuse values of the wrong type instead of silently storing them.

-- +goose Up
-- AUTOINCREMENT so that the id of a deleted user, still the subject of
-- unexpired access tokens, is never handed to a newcomer.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL CHECK (length(email) <= 255),
    hashed_password TEXT    NOT NULL CHECK (length(hashed_password) <= 255),
    first_name      TEXT    CHECK (length(first_name) <= 100),
    last_name       TEXT    CHECK (length(last_name) <= 100),
    is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at      INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000),
    updated_at      INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000)
) STRICT;

-- The seed's unique email and idx_email in one index: it serves lookups too.
CREATE UNIQUE INDEX users_email_key ON users (email);
-- The domain lower-cases emails; this keeps the database honest if a
-- writer does not (SQLite's lower() folds ASCII only).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- +goose Down
DROP TABLE users;
