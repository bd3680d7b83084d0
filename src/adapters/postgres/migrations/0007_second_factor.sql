-- Second factors (issue 21); they go with their user. The authenticator app's secret is
-- sealed (AES-GCM, under FACTOR_KEYS), recovery codes are kept as hashes only.
CREATE TABLE totp_factors (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret bytea NOT NULL,
    active boolean NOT NULL DEFAULT false,
    last_step bigint NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest text NOT NULL,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE passkeys (
    credential_id bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key bytea NOT NULL,
    sign_count bigint NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz
);

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);
