CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz
);

-- The domain lower-cases emails already; the database does not rely on it.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
