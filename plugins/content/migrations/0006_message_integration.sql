-- A message posted through an incoming webhook names the integration it is shown as (JSON:
-- webhook_id, name, avatar), from its message.create payload; NULL for members' own messages.
ALTER TABLE content_messages ADD COLUMN integration TEXT;
