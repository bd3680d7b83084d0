-- A registration's user is pending (found by nothing) until its last step confirms it.
ALTER TABLE users ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
