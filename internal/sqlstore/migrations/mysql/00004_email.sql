-- Email verification, password reset and change (CONTRACT section 8).
-- Existing accounts start unverified. See the SQLite migration for the
-- tables' meaning. Hashes and keys are ASCII hex; bodies are utf8mb4 TEXT
-- (MEDIUMTEXT for HTML, whose templates may be large).

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE link_tokens (
    hash       VARBINARY(64) NOT NULL PRIMARY KEY,
    user_id    BIGINT        NOT NULL,
    kind       VARCHAR(32)   NOT NULL,
    created_at DATETIME(6)   NOT NULL,
    expires_at DATETIME(6)   NOT NULL,
    used_at    DATETIME(6)   NULL,
    KEY link_tokens_user_kind_idx (user_id, kind),
    KEY link_tokens_expires_at_idx (expires_at),
    CONSTRAINT link_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE mail_cooldowns (
    address_key VARBINARY(64) NOT NULL,
    kind        VARCHAR(32)   NOT NULL,
    cool_until  DATETIME(6)   NOT NULL,
    PRIMARY KEY (address_key, kind),
    KEY mail_cooldowns_until_idx (cool_until)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE email_outbox (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id         BIGINT       NULL,
    recipient       VARCHAR(255) NOT NULL,
    kind            VARCHAR(32)  NOT NULL,
    subject         TEXT         NOT NULL,
    text_body       MEDIUMTEXT   NOT NULL,
    html_body       MEDIUMTEXT   NOT NULL,
    status          VARCHAR(16)  NOT NULL DEFAULT 'pending',
    attempts        INT          NOT NULL DEFAULT 0,
    created_at      DATETIME(6)  NOT NULL,
    next_attempt_at DATETIME(6)  NOT NULL,
    claimed_by      VARCHAR(64)  NULL,
    claim_until     DATETIME(6)  NULL,
    sent_at         DATETIME(6)  NULL,
    last_error      TEXT         NOT NULL,
    KEY email_outbox_due_idx (status, next_attempt_at),
    KEY email_outbox_created_idx (created_at),
    CONSTRAINT email_outbox_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE email_outbox;
DROP TABLE mail_cooldowns;
DROP TABLE link_tokens;
ALTER TABLE users DROP COLUMN email_verified;
