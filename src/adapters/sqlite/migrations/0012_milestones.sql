-- Moments a deployment records once (issue 18): when the cookie first took the __Host-
-- prefix, so that a cookie under the old name is honoured only for sessions made before.
CREATE TABLE IF NOT EXISTS milestones (
    name TEXT PRIMARY KEY,
    moment TEXT NOT NULL
) WITHOUT ROWID;
