-- Reports members send to the node admins: a direct message, a profile, a whole community, or a
-- community's message, post or comment taken past its moderators. Node-local, never replicated.
-- What the target was called and said when it was reported is kept (label, excerpt) so an admin can
-- judge it even after an edit; a DM's text is here only because one of its participants reported it.
CREATE TABLE users_reports (
    id           TEXT PRIMARY KEY,                -- time-sortable: the queue pages by id
    reporter_id  TEXT NOT NULL,
    target_type  TEXT NOT NULL
                 CHECK (target_type IN ('dm_message', 'user', 'community', 'message', 'post', 'comment')),
    target_id    TEXT NOT NULL,
    target_user  TEXT,                            -- who it is about: the author, the profile, the owner
    community_id TEXT,                            -- the community (targets in one, and communities)
    channel_id   TEXT,                            -- where the content is (a DM's channel for dm_message)
    post_id      TEXT,                            -- a comment's post (a post: itself)
    label        TEXT NOT NULL DEFAULT '',        -- the target's name when reported
    excerpt      TEXT NOT NULL DEFAULT '',        -- the reported text when reported
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'dismissed')),
    note         TEXT NOT NULL DEFAULT '',        -- what the admin did
    resolved_by  TEXT,                            -- an admin's id, or 'node' (the CLI)
    resolved_at  INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;
-- The admins' queue: one status, oldest first, paged by id.
CREATE INDEX users_reports_queue ON users_reports (status, id);
-- One open report per reporter and target: reporting it again while it is open changes nothing.
CREATE UNIQUE INDEX users_reports_once ON users_reports (reporter_id, target_type, target_id)
    WHERE status = 'open';
-- An account's erasure (user.erased's projection) wipes what reports quote of it and what it wrote
-- in its own reports.
CREATE INDEX users_reports_by_target_user ON users_reports (target_user);
CREATE INDEX users_reports_by_reporter ON users_reports (reporter_id);
