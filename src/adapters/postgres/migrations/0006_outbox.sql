-- The outbox: letters (or the orders they come from) to be sent, stored in the same
-- transaction as the token they carry. `content` is sealed by coatcheck under a key this
-- database never sees, and erased once sent; sent and failed entries are deleted after a
-- retention period. An entry is worked on by whoever holds its lease (`claim`, until
-- `lease_until`).
CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    recipient text,
    content bytea,
    request_id text,
    state text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL,
    retry_until timestamptz NOT NULL,
    expires_at timestamptz,
    next_attempt_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    claim uuid,
    lease_until timestamptz,
    finished_at timestamptz
);

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_finished ON outbox (finished_at) WHERE state <> 'pending';
