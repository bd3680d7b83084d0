-- Second factors (issue 21), beside the users they belong to. The authenticator app's secret
-- is sealed (AES-GCM, under FACTOR_KEYS), recovery codes are kept as hashes only.
CREATE TABLE IF NOT EXISTS totp_factors (
    user_id TEXT PRIMARY KEY,
    sealed_secret BLOB NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    last_step INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS recovery_codes (
    user_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (user_id, digest)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS passkeys (
    credential_id BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sign_count INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);

CREATE INDEX IF NOT EXISTS passkeys_user ON passkeys (user_id, created_at);

-- Steps between two requests that are not sessions (a log-in waiting for its second factor,
-- a WebAuthn challenge), under the digest of what holds them.
CREATE TABLE IF NOT EXISTS pending_steps (
    key TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS pending_steps_expiry ON pending_steps (expires_at);

-- How each session was authenticated (a bitmask: 1 password, 2 app, 4 recovery code,
-- 8 passkey) and when last; NULL: at its creation.
ALTER TABLE sessions ADD COLUMN auth_methods INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN authenticated_at TEXT;
