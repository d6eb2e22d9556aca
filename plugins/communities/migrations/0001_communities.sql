-- The communities plugin: governance projections (rebuilt from events, so every node that holds the
-- same events shows the same rows) plus node-local invites and reports.
-- No foreign keys between projection tables: events may arrive in any order and a rebuild replays
-- them; the replay itself keeps the rows consistent.

CREATE TABLE communities (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    icon          TEXT,
    public        INTEGER NOT NULL,
    rules         TEXT NOT NULL DEFAULT '[]',     -- JSON list of strings
    modlog_public INTEGER NOT NULL DEFAULT 0,
    owner_id      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,               -- ms, from the create event's hlc
    deleted       INTEGER NOT NULL DEFAULT 0      -- a tombstone: later events for it are ignored
) STRICT;
-- The public directory lists live public communities by name.
CREATE INDEX communities_directory ON communities (deleted, public, name);

-- Roles, including @everyone whose id is the community id and whose position is always 0.
CREATE TABLE community_roles (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    perms        INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    color        INTEGER NOT NULL DEFAULT 0,
    hoist        INTEGER NOT NULL DEFAULT 0,
    mentionable  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX community_roles_by_community ON community_roles (community_id, position);

CREATE TABLE community_members (
    community_id  TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    joined_at     INTEGER NOT NULL,               -- ms, from the join event's hlc
    timeout_until INTEGER,                        -- ms; the member may only read until then
    PRIMARY KEY (community_id, user_id)
) STRICT, WITHOUT ROWID;
-- "My communities" for a user (visible_channels across communities, the community list).
CREATE INDEX community_members_by_user ON community_members (user_id);

CREATE TABLE community_member_roles (
    community_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    PRIMARY KEY (community_id, user_id, role_id)
) STRICT, WITHOUT ROWID;
-- Deleting a role removes it from every member.
CREATE INDEX community_member_roles_by_role ON community_member_roles (role_id);

CREATE TABLE community_bans (
    community_id           TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    actor_id               TEXT,
    reason                 TEXT NOT NULL DEFAULT '',
    delete_message_seconds INTEGER NOT NULL DEFAULT 0,
    hlc                    INTEGER NOT NULL,      -- content at or after this hlc is hidden (strong remove)
    created_at             INTEGER NOT NULL,
    PRIMARY KEY (community_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE community_channels (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    kind         TEXT NOT NULL,                   -- text | forum | announcement | category
    name         TEXT NOT NULL,
    topic        TEXT NOT NULL DEFAULT '',
    parent_id    TEXT,                            -- a category channel
    position     INTEGER NOT NULL DEFAULT 0,
    nsfw         INTEGER NOT NULL DEFAULT 0,
    slowmode_s   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX community_channels_by_community ON community_channels (community_id, position);

-- Channel permission overwrites for a role or a member.
CREATE TABLE community_overwrites (
    channel_id   TEXT NOT NULL,
    target_type  TEXT NOT NULL CHECK (target_type IN ('role', 'member')),
    target_id    TEXT NOT NULL,
    community_id TEXT NOT NULL,
    allow        INTEGER NOT NULL DEFAULT 0,
    deny         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, target_type, target_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX community_overwrites_by_community ON community_overwrites (community_id);

CREATE TABLE community_automod_rules (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,                   -- words | regex | links | invites | mentions | new_account
    config       TEXT NOT NULL,                   -- JSON (AutomodConfig)
    action       TEXT NOT NULL,                   -- block | flag | timeout
    timeout_s    INTEGER NOT NULL DEFAULT 0,
    enabled      INTEGER NOT NULL DEFAULT 1,
    position     INTEGER NOT NULL                 -- hlc of creation: rules are checked oldest first
) STRICT;
CREATE INDEX community_automod_by_community ON community_automod_rules (community_id, position);

-- The mod log: one row per authorised moderation event, keyed by the event.
CREATE TABLE community_modlog (
    event_id     BLOB PRIMARY KEY,
    community_id TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,                -- ms
    actor_id     TEXT,                            -- NULL: automod
    action       TEXT NOT NULL,
    target_id    TEXT,
    reason       TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT '{}'       -- JSON
) STRICT;
-- Newest-first paging of one community's log.
CREATE INDEX community_modlog_by_community ON community_modlog (community_id, hlc DESC, event_id DESC);

-- The newest governance event (hlc, id) already folded into a community's rows: an older one
-- arriving later makes the projection replay that community's governance events in order.
CREATE TABLE community_gov_head (
    community_id TEXT PRIMARY KEY,
    hlc          INTEGER NOT NULL,
    event_id     BLOB NOT NULL
) STRICT;

-- Node-local: invite codes for this node's users (not replicated; a join event names the inviter).
CREATE TABLE community_invites (
    code         TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    creator_id   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,                -- ms
    expires_at   INTEGER,                         -- ms; NULL never
    max_uses     INTEGER,                         -- NULL unlimited
    uses         INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX community_invites_by_community ON community_invites (community_id, created_at);

-- Node-local: the reports queue (members' reports and automod flags).
CREATE TABLE community_reports (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    reporter_id  TEXT,                            -- NULL: automod
    target_type  TEXT NOT NULL,                   -- message | post | comment | member | text
    target_id    TEXT NOT NULL,
    target_user  TEXT,                            -- whose content or who is reported
    reason       TEXT NOT NULL DEFAULT '',
    excerpt      TEXT NOT NULL DEFAULT '',
    rule_id      TEXT,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'dismissed')),
    action_taken TEXT NOT NULL DEFAULT '',
    resolved_by  TEXT,
    resolved_at  INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;
-- The moderators' queue: open reports oldest first.
CREATE INDEX community_reports_queue ON community_reports (community_id, status, created_at);
