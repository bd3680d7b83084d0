-- A registration's user is pending (found by nothing) until its last step confirms it, and
-- a confirmation counts only before this moment (PostgreSQL's own clock): one that arrives
-- after its request has answered (a hung server that resumed) finds nothing to confirm.
-- NULL: a real user.
ALTER TABLE users ADD COLUMN registering_until timestamptz;
