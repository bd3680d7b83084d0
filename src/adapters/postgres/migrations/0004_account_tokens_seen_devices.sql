-- One-time tokens of emailed links, under the HMAC digest of the token: never the token.
-- They go with their user.
CREATE TABLE account_tokens (
    digest text PRIMARY KEY,
    purpose text NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email text NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);

-- The browsers and clients each user has logged in from, by keyed fingerprint (user agent and
-- address prefix), for the notice of a log-in from a new one. Not the devices the log-in
-- throttle knows by their device cookie: those are kept with the attempt counts.
CREATE TABLE seen_devices (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fingerprint text NOT NULL,
    first_seen_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, fingerprint)
);
