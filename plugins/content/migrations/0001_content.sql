-- The content plugin's projections: chat messages, DMs, posts, comments, reactions, votes.
-- Every table here except content_read_state, content_views and content_purges is rebuilt from
-- events alone; each projection gives the same rows whatever order its events arrive in.

-- Direct-message channels: chat channels outside any community, fixed participants.
CREATE TABLE content_dm_channels (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    pair_key   TEXT,                -- 'a|b' (sorted ids) for 1:1 DMs: find the existing one
    hlc        INTEGER NOT NULL
) STRICT;
CREATE INDEX content_dm_pair ON content_dm_channels (pair_key, id) WHERE pair_key IS NOT NULL;

CREATE TABLE content_dm_members (
    channel_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
) STRICT, WITHOUT ROWID;
-- READY and GET /dms list a user's DM channels.
CREATE INDEX content_dm_members_user ON content_dm_members (user_id, channel_id);

-- Chat messages in text/announcement channels and DMs. Ordered by (hlc, id): the create event's
-- hybrid clock, ticked in the single writer, so local commit order and time order agree.
CREATE TABLE content_messages (
    id               TEXT PRIMARY KEY,
    channel_id       TEXT NOT NULL,
    community_id     TEXT,              -- NULL in DMs
    author_id        TEXT NOT NULL,
    hlc              INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,  -- ms, the wall part of hlc
    content          TEXT NOT NULL,
    original         TEXT,              -- the create's text, kept once the message is edited
    attachments      TEXT NOT NULL DEFAULT '[]',  -- JSON list of media ids
    reply_to         TEXT,
    thread_id        TEXT,              -- the message a thread hangs from (NULL: channel history)
    mentions         TEXT NOT NULL DEFAULT '[]',  -- JSON list of user ids
    mention_roles    TEXT NOT NULL DEFAULT '[]',
    mention_everyone INTEGER NOT NULL DEFAULT 0,
    edited_hlc       INTEGER,           -- hlc of the winning (latest) edit
    deleted          INTEGER NOT NULL DEFAULT 0,
    hidden           INTEGER NOT NULL DEFAULT 0,  -- moderator removal (content_mod)
    purged           INTEGER NOT NULL DEFAULT 0,  -- removed by a ban's delete window
    pinned           INTEGER NOT NULL DEFAULT 0,
    thread_count     INTEGER NOT NULL DEFAULT 0,
    thread_last_hlc  INTEGER
) STRICT;
-- History pages (before/after/around) and unread counts walk one channel (or thread) in order.
CREATE INDEX content_messages_order ON content_messages (channel_id, thread_id, hlc, id);
-- Slow mode looks up a member's latest message in a channel; ban purges find a member's content.
CREATE INDEX content_messages_author ON content_messages (author_id, channel_id, hlc);
CREATE INDEX content_messages_pins ON content_messages (channel_id, hlc) WHERE pinned = 1;

-- Mentions, one row per mentioned user ('*' for @everyone/@here): unread mention counts.
CREATE TABLE content_mentions (
    channel_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (channel_id, user_id, hlc, message_id)
) STRICT, WITHOUT ROWID;

-- Posts in forum channels. hot/controversy depend only on votes and creation time, so they are
-- stored and indexed; feeds page through them with keyset cursors.
CREATE TABLE content_posts (
    id            TEXT PRIMARY KEY,
    channel_id    TEXT NOT NULL,
    community_id  TEXT NOT NULL,
    author_id     TEXT NOT NULL,
    hlc           INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL DEFAULT '',
    body_html     TEXT NOT NULL DEFAULT '',
    url           TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',
    nsfw          INTEGER NOT NULL DEFAULT 0,
    spoiler       INTEGER NOT NULL DEFAULT 0,
    edited_hlc    INTEGER,
    deleted       INTEGER NOT NULL DEFAULT 0,
    hidden        INTEGER NOT NULL DEFAULT 0,
    purged        INTEGER NOT NULL DEFAULT 0,
    locked        INTEGER NOT NULL DEFAULT 0,
    sticky        INTEGER NOT NULL DEFAULT 0,
    ups           INTEGER NOT NULL DEFAULT 0,
    downs         INTEGER NOT NULL DEFAULT 0,
    score         INTEGER NOT NULL DEFAULT 0,
    hot           REAL NOT NULL DEFAULT 0,
    controversy   REAL NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0
) STRICT;
-- Feeds read only visible posts, per channel and (home feed) across channels, in each sort order.
CREATE INDEX content_posts_hot ON content_posts (channel_id, hot DESC, id DESC)
    WHERE deleted = 0 AND hidden = 0 AND purged = 0;
CREATE INDEX content_posts_new ON content_posts (channel_id, hlc DESC, id DESC)
    WHERE deleted = 0 AND hidden = 0 AND purged = 0;
CREATE INDEX content_posts_top ON content_posts (channel_id, score DESC, id DESC)
    WHERE deleted = 0 AND hidden = 0 AND purged = 0;
CREATE INDEX content_posts_controversial ON content_posts (channel_id, controversy DESC, id DESC)
    WHERE deleted = 0 AND hidden = 0 AND purged = 0;
CREATE INDEX content_posts_all_hot ON content_posts (hot DESC, id DESC)
    WHERE deleted = 0 AND hidden = 0 AND purged = 0;
CREATE INDEX content_posts_author ON content_posts (author_id, community_id, hlc);

-- Threaded comments under posts; a tree is loaded per post and shaped in Python.
CREATE TABLE content_comments (
    id           TEXT PRIMARY KEY,
    post_id      TEXT NOT NULL,
    parent_id    TEXT,              -- NULL: a top-level comment
    channel_id   TEXT NOT NULL,
    community_id TEXT NOT NULL,
    author_id    TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    body         TEXT NOT NULL,
    body_html    TEXT NOT NULL,
    edited_hlc   INTEGER,
    deleted      INTEGER NOT NULL DEFAULT 0,
    hidden       INTEGER NOT NULL DEFAULT 0,
    purged       INTEGER NOT NULL DEFAULT 0,
    ups          INTEGER NOT NULL DEFAULT 0,
    downs        INTEGER NOT NULL DEFAULT 0,
    score        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX content_comments_post ON content_comments (post_id, hlc);
CREATE INDEX content_comments_author ON content_comments (author_id, community_id, hlc);

-- Every edit event (message, post, comment): the edit history moderators see, and the source of the
-- current text (the author's edit with the highest (hlc, event_id) wins).
CREATE TABLE content_edits (
    event_id  BLOB PRIMARY KEY,
    target_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    hlc       INTEGER NOT NULL,
    data      BLOB NOT NULL     -- msgpack of the edit payload
) STRICT;
CREATE INDEX content_edits_target ON content_edits (target_id, hlc);

-- Author deletes are final; kept apart so a delete that arrives before its create still applies.
CREATE TABLE content_deletes (
    target_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    hlc       INTEGER NOT NULL,
    PRIMARY KEY (target_id, author_id)
) STRICT;

-- Moderator state per (target, field): hidden, pinned, locked, sticky. Last writer wins by
-- (rank, hlc, event_id), so an admin's decision outranks a moderator's later one.
CREATE TABLE content_mod (
    target_id TEXT NOT NULL,
    field     TEXT NOT NULL,
    value     INTEGER NOT NULL,
    rank      INTEGER NOT NULL,
    hlc       INTEGER NOT NULL,
    event_id  BLOB NOT NULL,
    actor_id  TEXT,
    reason    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (target_id, field)
) STRICT;

-- Reactions are add-wins sets (an observed-remove set): each add has a tag (its event id); a
-- remove names the tags it saw, so a concurrent add that the remove did not see survives.
CREATE TABLE content_reaction_adds (
    event_id  BLOB PRIMARY KEY,
    target_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    emoji     TEXT NOT NULL,
    hlc       INTEGER NOT NULL
) STRICT;
CREATE INDEX content_reaction_adds_target ON content_reaction_adds (target_id, emoji, user_id);
CREATE TABLE content_reaction_removed (
    add_id BLOB PRIMARY KEY
) STRICT, WITHOUT ROWID;
-- Derived: distinct users with a live add, per (target, emoji).
CREATE TABLE content_reaction_counts (
    target_id TEXT NOT NULL,
    emoji     TEXT NOT NULL,
    count     INTEGER NOT NULL,
    first_hlc INTEGER NOT NULL,
    PRIMARY KEY (target_id, emoji)
) STRICT, WITHOUT ROWID;

-- One vote per (user, target), last writer wins by (hlc, event_id); tallies on posts/comments.
CREATE TABLE content_votes (
    target_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    value     INTEGER NOT NULL,
    hlc       INTEGER NOT NULL,
    event_id  BLOB NOT NULL,
    PRIMARY KEY (target_id, user_id)
) STRICT, WITHOUT ROWID;

-- Custom emoji of a community (reactions name them as "name:id").
CREATE TABLE content_emojis (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    media_id     TEXT NOT NULL,
    author_id    TEXT,
    hlc          INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX content_emojis_community ON content_emojis (community_id, name);

-- Ban purge windows (from the communities plugin's member.ban delete_message_seconds): content by
-- that member in that community with hlc in [from_hlc, to_hlc] is hidden, including content that
-- arrives later.
CREATE TABLE content_purges (
    ban_event_id BLOB PRIMARY KEY,
    community_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    from_hlc     INTEGER NOT NULL,
    to_hlc       INTEGER NOT NULL
) STRICT;
CREATE INDEX content_purges_member ON content_purges (community_id, user_id);

-- Node-local, private: each user's read marker per channel (not an event).
CREATE TABLE content_read_state (
    user_id    TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel_id)
) STRICT, WITHOUT ROWID;

-- Node-local analytics counter: post views (buffered in memory, flushed in batches).
CREATE TABLE content_views (
    post_id TEXT PRIMARY KEY,
    views   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
