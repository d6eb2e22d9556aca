-- The integrations plugin's node-local tables: incoming webhooks, outgoing event subscriptions and
-- their delivery outbox, and the link-preview cache with the links each message or post holds.

-- Incoming webhooks. The token is kept only as its SHA-256 (it is 32 random bytes, so a plain hash
-- is enough): a stolen database does not post, and a rotated token stops working at once.
CREATE TABLE integ_webhooks (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    avatar       TEXT,                            -- a media id
    owner_id     TEXT NOT NULL,                   -- the member whose standing it posts with
    token_hash   BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;
-- Managers list a channel's or a community's webhooks.
CREATE INDEX integ_webhooks_by_channel ON integ_webhooks (channel_id);
CREATE INDEX integ_webhooks_by_community ON integ_webhooks (community_id);

-- Outgoing event subscriptions (community_id NULL: a node admin's, for every community). The
-- secret signs deliveries, so it is kept as is (the data console reads it as NULL).
CREATE TABLE integ_subscriptions (
    id              TEXT PRIMARY KEY,
    community_id    TEXT,
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    kinds           TEXT NOT NULL,                -- JSON list of event kinds
    owner_id        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    last_attempt_at INTEGER,
    last_success_at INTEGER
) STRICT;
-- The consumer finds the subscriptions an event's community has.
CREATE INDEX integ_subscriptions_by_community ON integ_subscriptions (community_id);

-- The delivery outbox: written in the transaction that consumed the event (with the consumer's
-- offset), so a restart neither loses nor repeats one; retried with backoff (cryb_node.outbox).
CREATE TABLE integ_deliveries (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES integ_subscriptions (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    channel_id      TEXT,                         -- a channel-bound event: re-checked at sending
    body            BLOB NOT NULL,                -- the JSON delivered
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,             -- ms
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    UNIQUE (subscription_id, event_id)
) STRICT;
-- The worker's scan: due rows not yet sent or given up.
CREATE INDEX integ_deliveries_due ON integ_deliveries (next_at) WHERE sent_at IS NULL AND failed_at IS NULL;
-- A subscription's recent deliveries (its status page).
CREATE INDEX integ_deliveries_by_subscription ON integ_deliveries (subscription_id, created_at);

-- Link previews by URL (a cache: node-local, refetched after preview_ttl_s).
CREATE TABLE integ_previews (
    url          TEXT PRIMARY KEY,
    ok           INTEGER NOT NULL,                -- 0: the fetch failed or was refused (error says why)
    title        TEXT,
    description  TEXT,
    site_name    TEXT,
    image        TEXT,                            -- a media id: the image re-encoded by the media plugin
    image_width  INTEGER,
    image_height INTEGER,
    error        TEXT,
    fetched_at   INTEGER NOT NULL
) STRICT;

-- The links of each message or post, in order (from its create event), with what the embed route
-- checks: where it is and who wrote it (the author may suppress its previews).
CREATE TABLE integ_links (
    target_id    TEXT NOT NULL,
    position     INTEGER NOT NULL,
    url          TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    community_id TEXT,
    author_id    TEXT,
    PRIMARY KEY (target_id, position)
) STRICT;

CREATE TABLE integ_suppressed (
    target_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE integ_community_settings (
    community_id  TEXT PRIMARY KEY,
    link_previews INTEGER NOT NULL DEFAULT 1
) STRICT;
