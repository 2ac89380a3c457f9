-- The seed's users table. Times are timestamptz (stored as UTC).

-- +goose Up
CREATE TABLE users (
    id              BIGINT       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           VARCHAR(255) NOT NULL,
    hashed_password VARCHAR(255) NOT NULL,
    first_name      VARCHAR(100),
    last_name       VARCHAR(100),
    is_active       BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- The seed's unique email; its index is also the seed's idx_email.
    CONSTRAINT users_email_key UNIQUE (email)
);

-- The domain lower-cases emails; this keeps the database honest if a
-- writer does not.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- +goose Down
DROP TABLE users;
