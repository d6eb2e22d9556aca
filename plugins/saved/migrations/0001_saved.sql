-- Saved messages, posts and comments: a member's private bookmarks, on their own node only (never an
-- event: nobody else learns what someone saved).
CREATE TABLE saved_items (
    user_id     TEXT NOT NULL,
    target_type TEXT NOT NULL,   -- message | post | comment
    target_id   TEXT NOT NULL,
    saved_at    INTEGER NOT NULL, -- ms
    PRIMARY KEY (user_id, target_type, target_id)
) STRICT, WITHOUT ROWID;
-- The list, newest first, paged by (saved_at, target_id).
CREATE INDEX saved_items_by_time ON saved_items (user_id, saved_at, target_id);
