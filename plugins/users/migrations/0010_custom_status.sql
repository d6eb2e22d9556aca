-- Custom status text (issue 26): part of the public profile (user.profile events carry it, so peers
-- show it too); shown until status_until (ms), if set.
ALTER TABLE users_profiles ADD COLUMN status_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users_profiles ADD COLUMN status_until INTEGER;
