-- Login sessions and their refresh-token families.
--
-- Session ids and token hashes are VARBINARY: MySQL cannot index TEXT
-- without a prefix length, and binary strings compare byte for byte,
-- where VARCHAR would ignore trailing spaces (PAD SPACE collations), fold
-- case under a _ci collation (ids are case-sensitive base64url), and
-- refuse an id that is not valid UTF-8 (one typed into a URL). The domain's
-- are 22 (session id) and 64 (hex SHA-256) characters.

-- +goose Up
CREATE TABLE sessions (
    id           VARBINARY(128) NOT NULL PRIMARY KEY,
    user_id      BIGINT         NOT NULL,
    created_at   DATETIME(6)    NOT NULL,
    last_used_at DATETIME(6)    NOT NULL,
    expires_at   DATETIME(6)    NOT NULL,
    deadline     DATETIME(6)    NOT NULL,
    revoked_at   DATETIME(6)    NULL,
    client_ip    VARCHAR(255)   NOT NULL DEFAULT '',
    user_agent   VARCHAR(1024)  NOT NULL DEFAULT '',
    -- user_id first: it is the foreign key's index, and also hands
    -- ListSessions its rows already ordered by creation.
    KEY sessions_user_id_idx (user_id, created_at),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE refresh_tokens (
    hash        VARBINARY(128) NOT NULL PRIMARY KEY,
    parent_hash VARBINARY(128) NULL,
    session_id  VARBINARY(128) NOT NULL,
    user_id     BIGINT         NOT NULL,
    issued_at   DATETIME(6)    NOT NULL,
    expires_at  DATETIME(6)    NOT NULL,
    spent_at    DATETIME(6)    NULL,
    KEY refresh_tokens_session_id_idx (session_id),
    -- Without it, deleting a user scans every token for the cascade.
    KEY refresh_tokens_user_id_idx (user_id),
    CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE refresh_tokens;
DROP TABLE sessions;
