-- The seed's users table, in the seed's own MySQL syntax, for MySQL 8 and
-- MariaDB 10.5+. Times are DATETIME(6) in UTC (every connection's
-- time_zone is +00:00): TIMESTAMP would stop in 2038. updated_at has no ON
-- UPDATE clause: the store sets it, as on the other engines.
--
-- Every string compares exactly (utf8mb4_bin), as PostgreSQL's text does.
-- A case-insensitive collation (utf8mb4_unicode_ci, _general_ci) would
-- make the unique index case-insensitive, but accent-insensitive too:
-- zoe@example.org and zoë@example.org would be one account, and looking
-- one up could find the other. So email is compared exactly, and
-- email_lower, LOWER(email) (which folds all of Unicode, not just ASCII),
-- carries the case-insensitive unique index that keeps the database
-- honest if a writer does not lower-case, as lower(email) does elsewhere.
-- Its own collation must be utf8mb4_bin too: a generated column takes the
-- table's, not its expression's.
--
-- AUTO_INCREMENT never hands out a deleted user's id again (still the
-- subject of unexpired access tokens): MySQL 8 and MariaDB 10.2.4+ keep
-- the counter across restarts.

-- +goose Up
CREATE TABLE users (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email           VARCHAR(255) NOT NULL,
    hashed_password VARCHAR(255) NOT NULL,
    first_name      VARCHAR(100),
    last_name       VARCHAR(100),
    is_active       BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    email_lower     VARCHAR(255) GENERATED ALWAYS AS (LOWER(email)) STORED,
    -- The seed's unique email and idx_email in one index: it serves
    -- lookups too.
    UNIQUE KEY idx_email (email),
    UNIQUE KEY users_email_lower_key (email_lower)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE users;
