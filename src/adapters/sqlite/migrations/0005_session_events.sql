-- Session events (log-outs, revocations, new sessions), for every process that serves this
-- file to learn of: each polls for the rows past the last one it saw. Rows are kept minutes.
CREATE TABLE IF NOT EXISTS session_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    event TEXT NOT NULL
);
