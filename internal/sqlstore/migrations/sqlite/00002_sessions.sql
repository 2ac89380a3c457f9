-- Login sessions and their refresh-token families.

-- +goose Up
CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    deadline     INTEGER NOT NULL,
    revoked_at   INTEGER,
    client_ip    TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

-- user_id first: it is the index on user_id, and also hands ListSessions
-- its rows already ordered by creation.
CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
    hash        TEXT    NOT NULL PRIMARY KEY,
    parent_hash TEXT,
    session_id  TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    spent_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
-- Without it, deleting a user scans every token for the cascade.
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE sessions;
