-- The outbox: letters (or the orders they come from) to be sent, stored in the same
-- transaction as the token they carry. `content` is sealed by coatcheck under a key kept
-- outside this file, and erased once sent; sent and failed entries are deleted after a
-- retention period. A claim takes the write lock first (BEGIN IMMEDIATE): one process at a
-- time, and each entry is then leased to it (`claim`, until `lease_until`).
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    recipient TEXT,
    content BLOB,
    request_id TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    retry_until TEXT NOT NULL,
    expires_at TEXT,
    next_attempt_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    claim TEXT,
    lease_until TEXT,
    finished_at TEXT
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_finished ON outbox (state, finished_at);
