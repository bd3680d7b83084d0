-- Devices known on an account (by the digest of their token there): each spends a log-in
-- budget of its own until `trusted_until`.
CREATE TABLE IF NOT EXISTS known_devices (
    key TEXT PRIMARY KEY,
    trusted_until TEXT NOT NULL
) WITHOUT ROWID;
