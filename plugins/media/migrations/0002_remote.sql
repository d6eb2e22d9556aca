-- Media of other nodes (plugins/media/remote.py). Content replicated from a peer attaches media by
-- id; the bytes stay on the node the author uploaded them to until someone here opens them. Then
-- they are fetched over the signed federation channel, checked against their sha256 and kept in a
-- cache (its own folder, never the local blob store) under [plugin.media] cache_quota_bytes,
-- least recently used first out. Local uploads are never evicted: they are not in these tables.

-- Which node holds a media id that replicated content attaches, and the channel it is in here
-- (from the verified event: who may see it here is decided by this node's own permissions).
CREATE TABLE media_remote_refs (
    media_id   TEXT PRIMARY KEY,
    node_key   BLOB NOT NULL,
    channel_id TEXT,
    target_id  TEXT,                  -- the message/post (or user, for an avatar) attaching it
    author_id  TEXT,                  -- who attached it (only their delete or erasure drops it)
    seen_ms    INTEGER NOT NULL
) WITHOUT ROWID;
-- A delete or an erasure drops what its target attached from the cache.
CREATE INDEX media_remote_refs_target ON media_remote_refs (target_id);
CREATE INDEX media_remote_refs_author ON media_remote_refs (author_id);

-- What the holding node told us about it (fetched on first use).
CREATE TABLE media_remote (
    id             TEXT PRIMARY KEY,
    node_key       BLOB NOT NULL,
    owner_id       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    mime           TEXT NOT NULL,
    size           INTEGER NOT NULL,
    width          INTEGER,
    height         INTEGER,
    frames         INTEGER,
    placeholder    TEXT,
    dominant_color TEXT,
    channel_id     TEXT,
    fetched_ms     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE media_remote_variants (
    media_id TEXT NOT NULL REFERENCES media_remote (id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    mime     TEXT NOT NULL,
    size     INTEGER NOT NULL,
    width    INTEGER,
    height   INTEGER,
    PRIMARY KEY (media_id, name)
) WITHOUT ROWID;

-- Cached blobs (content-addressed, in <data>/media/cache), with their last use for LRU eviction.
CREATE TABLE media_cache (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    fetched_ms INTEGER NOT NULL,
    used_ms    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX media_cache_lru ON media_cache (used_ms);
