-- A bot's public answer to a slash command carries the interaction it answers (JSON: id, name,
-- user_id), so every reader sees "X used /cmd" above it (plugins/integrations/interactions.py).
-- Numbered 0008, leaving 0007 free for a migration another branch may add at the same time.
ALTER TABLE content_messages ADD COLUMN interaction TEXT;
