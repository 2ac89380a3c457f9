-- Login sessions and their refresh-token families.

-- +goose Up
CREATE TABLE sessions (
    id           TEXT        NOT NULL PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    deadline     TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    client_ip    TEXT        NOT NULL DEFAULT '',
    user_agent   TEXT        NOT NULL DEFAULT ''
);

-- user_id first: it is the index on user_id, and also hands ListSessions
-- its rows already ordered by creation.
CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at);

CREATE TABLE refresh_tokens (
    hash        TEXT        NOT NULL PRIMARY KEY,
    parent_hash TEXT,
    session_id  TEXT        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at   TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    spent_at    TIMESTAMPTZ
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
-- Without it, deleting a user scans every token for the cascade.
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE sessions;
