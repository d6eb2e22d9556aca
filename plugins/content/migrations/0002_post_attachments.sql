-- Posts carry image/file attachments (media ids, JSON array), like messages.
ALTER TABLE content_posts ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
