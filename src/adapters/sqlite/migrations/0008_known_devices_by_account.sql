-- Devices known on an account by the log-in throttle, now by their owner (a key derived from
-- the user's id, not the email) so that every device of an account can be forgotten at once
-- (account deleted, password reset, change of email). The rows before were keyed by the
-- email's digest, which nothing reads any more: they go, and those browsers are known again
-- at their next log-in.
DROP TABLE IF EXISTS known_devices;

CREATE TABLE known_devices (
    owner TEXT NOT NULL,
    device TEXT NOT NULL,
    trusted_until TEXT NOT NULL,
    PRIMARY KEY (owner, device)
) WITHOUT ROWID;

CREATE INDEX known_devices_expiry ON known_devices (trusted_until);
