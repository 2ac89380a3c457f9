-- The audit log of security events and the admin API's keys (contract
-- section 10). audit_events.user_id has no foreign key: an account's
-- history outlives the account. details is JSON (MariaDB: LONGTEXT with a
-- JSON check).

-- +goose Up
CREATE TABLE audit_events (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    occurred_at DATETIME(6)  NOT NULL,
    event       VARCHAR(64)  NOT NULL,
    user_id     BIGINT       NULL,
    actor       VARCHAR(80)  NOT NULL,
    client_ip   VARCHAR(64)  NOT NULL DEFAULT '',
    user_agent  VARCHAR(512) NOT NULL DEFAULT '',
    request_id  VARCHAR(128) NOT NULL DEFAULT '',
    details     JSON         NOT NULL,
    -- GET /admin/audit?user_id= and ?event=, newest first; occurred_at
    -- alone serves the unfiltered listing and retention pruning.
    KEY audit_events_user_idx (user_id, occurred_at),
    KEY audit_events_event_idx (event, occurred_at),
    KEY audit_events_occurred_idx (occurred_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Only the SHA-256 of a key is kept (hex); the key is shown once.
CREATE TABLE admin_keys (
    name         VARCHAR(64) NOT NULL PRIMARY KEY,
    key_hash     CHAR(64)    NOT NULL,
    created_at   DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    UNIQUE KEY admin_keys_key_hash_key (key_hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE admin_keys;
DROP TABLE audit_events;
