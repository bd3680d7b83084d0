-- Whether a user's address was verified (by following an emailed link); a session's user
-- card carries it (NULL in sessions written before: read as not verified).
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_email_verified INTEGER;
