-- Federation: pinned peers, followed communities, version vectors, fork evidence (cryb_node/sync).

-- Pinned peers. Only these may call /federation/v1 (every request is signed by the caller's node
-- key) and only these are pulled from or pushed to.
CREATE TABLE sync_peers (
    node_key   BLOB PRIMARY KEY,              -- ed25519 identity public key, pinned by the admin
    url        TEXT NOT NULL,                 -- base URL we reach it at
    name       TEXT NOT NULL DEFAULT '',
    added_at   INTEGER NOT NULL,
    last_ok_at INTEGER,                       -- last successful session (unix s)
    last_error TEXT
) STRICT;

-- Communities this node replicates besides those it already holds events of.
CREATE TABLE sync_follows (
    community_id TEXT PRIMARY KEY,
    followed_at  INTEGER NOT NULL
) STRICT;

-- Version vectors: per scope (a community id, or '@users' for profiles) and origin log, the highest
-- seq up to which this node holds every event of that origin in that scope (that peers may send
-- it). Advanced only after the events are committed, so a node never advertises what it lacks.
CREATE TABLE sync_vectors (
    scope  TEXT NOT NULL,
    origin BLOB NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (scope, origin)
) STRICT, WITHOUT ROWID;

-- Which node each user is homed on (the node whose certified log created the account): only
-- that node's logs may author events for the user.
CREATE TABLE sync_user_homes (
    user_id  TEXT PRIMARY KEY,
    node_key BLOB NOT NULL
) STRICT;

-- Fork evidence: a second, validly signed event at an (origin, seq) we already hold. Never applied.
CREATE TABLE sync_forks (
    origin      BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    existing_id BLOB NOT NULL,                -- the event we hold (empty: our own log key)
    event_id    BLOB NOT NULL,                -- the conflicting one
    body        BLOB NOT NULL,
    sig         BLOB NOT NULL,
    peer        BLOB,                         -- who sent it
    detected_at INTEGER NOT NULL,
    PRIMARY KEY (origin, seq, event_id)
) STRICT;

-- Batches walk one origin's events of one scope in seq order.
CREATE INDEX sync_events_scope ON events (community, origin, seq);
