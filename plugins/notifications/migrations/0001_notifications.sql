-- The notifications plugin's node-local tables: inboxes, preferences, the mail/push outbox, Web
-- Push subscriptions, and a small index built from the events it consumes (who wrote what, who is
-- in which community, DM or role) so it never reads another plugin's tables.

-- One row per notification. (user_id, source) is unique: the same event or notice handled twice
-- (a replay after a crash) never tells the user twice. Deleted rows stay as tombstones for that.
CREATE TABLE notif_inbox (
    id           TEXT PRIMARY KEY,               -- time-sortable: the list cursor
    user_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,                  -- event id (hex) or notice key
    actor_id     TEXT,
    community_id TEXT,
    channel_id   TEXT,
    target_id    TEXT,
    preview      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,               -- ms since epoch
    read_at      INTEGER,
    digested     INTEGER NOT NULL DEFAULT 0,     -- already in a digest (or mailed on its own)
    deleted      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, source)
) STRICT;
-- The inbox list (newest first, by cursor).
CREATE INDEX notif_inbox_by_user ON notif_inbox (user_id, id) WHERE deleted = 0;
-- Unread counts and "mark all read" (optionally per community).
CREATE INDEX notif_inbox_unread ON notif_inbox (user_id, community_id) WHERE read_at IS NULL AND deleted = 0;

-- Preferences: scope 'user' (scope_id ''), 'community' or 'channel'; data is the JSON of the
-- scope's Struct (schemas.py), so adding a setting needs no migration.
CREATE TABLE notif_prefs (
    user_id  TEXT NOT NULL,
    scope    TEXT NOT NULL CHECK (scope IN ('user', 'community', 'channel')),
    scope_id TEXT NOT NULL,
    data     TEXT NOT NULL,
    PRIMARY KEY (user_id, scope, scope_id)
) STRICT;

-- When each user's last digest was built (a digest covers what came since).
CREATE TABLE notif_digests (
    user_id TEXT PRIMARY KEY,
    last_at INTEGER NOT NULL                     -- ms
) STRICT;

-- Notices recorded by other plugins inside their own transactions, waiting to be delivered.
CREATE TABLE notif_pending (
    seq  INTEGER PRIMARY KEY,
    key  TEXT NOT NULL UNIQUE,
    data BLOB NOT NULL                           -- msgpack(cryb_node.services.Notice)
) STRICT;

-- Mail and push messages to send. A row is written in the same transaction as what caused it and
-- marked sent by the worker; failures back off, and give up after the configured attempts.
CREATE TABLE notif_outbox (
    id         INTEGER PRIMARY KEY,
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'push')),
    user_id    TEXT NOT NULL,
    dedupe     TEXT NOT NULL UNIQUE,
    payload    BLOB NOT NULL,                    -- msgpack: the rendered mail, or the push body
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    INTEGER NOT NULL,                 -- ms
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    failed_at  INTEGER,
    last_error TEXT
) STRICT;
-- The worker's scan: due rows not yet sent or given up.
CREATE INDEX notif_outbox_due ON notif_outbox (next_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE notif_push_subs (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    endpoint   TEXT NOT NULL UNIQUE,
    p256dh     BLOB NOT NULL,                    -- the browser's P-256 public key (65 bytes)
    auth       BLOB NOT NULL,                    -- the browser's auth secret (16 bytes)
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX notif_push_subs_by_user ON notif_push_subs (user_id);

-- The index: who wrote each message/post/comment (replies, comments, moderation), DM participants,
-- community members and role holders (last writer wins by hlc; the Permissions service has the
-- final say on who may see what, this only names the candidates).
CREATE TABLE notif_authors (
    target_id    TEXT PRIMARY KEY,
    author_id    TEXT NOT NULL,
    community_id TEXT,
    channel_id   TEXT
) STRICT;
CREATE TABLE notif_dm_members (
    channel_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
) STRICT;
CREATE TABLE notif_members (
    community_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    present      INTEGER NOT NULL,
    PRIMARY KEY (community_id, user_id)
) STRICT;
CREATE TABLE notif_role_members (
    role_id      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    present      INTEGER NOT NULL,
    PRIMARY KEY (role_id, user_id)
) STRICT;
