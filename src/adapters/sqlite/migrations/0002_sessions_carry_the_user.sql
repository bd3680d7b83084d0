-- A session carries its user's public fields, so that "who am I" needs no users query.
-- Sessions written before have none; they are answered from the users table.
ALTER TABLE sessions ADD COLUMN user_email TEXT;
ALTER TABLE sessions ADD COLUMN user_name TEXT;
ALTER TABLE sessions ADD COLUMN user_created_at TEXT;
