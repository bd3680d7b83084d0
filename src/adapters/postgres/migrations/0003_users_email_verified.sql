-- Whether a user's address was verified (by following an emailed link).
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
