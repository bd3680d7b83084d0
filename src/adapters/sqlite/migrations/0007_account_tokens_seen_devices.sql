-- One-time tokens of emailed links, under the HMAC digest of the token: never the token.
CREATE TABLE IF NOT EXISTS account_tokens (
    digest TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX IF NOT EXISTS account_tokens_expiry ON account_tokens (expires_at);

-- The browsers and clients each user has logged in from, by keyed fingerprint (user agent and
-- address prefix), for the notice of a log-in from a new one. Not the devices the log-in
-- throttle knows by their device cookie: those are kept with the attempt counts.
CREATE TABLE IF NOT EXISTS seen_devices (
    user_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (user_id, fingerprint)
) WITHOUT ROWID;
