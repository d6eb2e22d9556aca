-- This node's own bans (cryb_node/sync/bans.py): a remote user, or a whole peer node. A node-local
-- decision, never replicated: their events are still stored (each origin's log stays contiguous)
-- but what they write is refused here with the local reason `node_banned`.
CREATE TABLE sync_node_bans (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'node')),
    user_id    TEXT,                          -- kind 'user': the banned account
    node_key   BLOB,                          -- kind 'node': the banned node's identity key
    label      TEXT NOT NULL,                 -- name@home, or the node's URL, as listed
    reason     TEXT NOT NULL,
    created_by TEXT,                          -- the admin's user id; NULL from the cryb CLI
    created_at INTEGER NOT NULL,              -- unix seconds
    CHECK ((kind = 'user') = (user_id IS NOT NULL) AND (kind = 'node') = (node_key IS NOT NULL))
) STRICT;
-- One ban per target; every projected event of a hidden kind is looked up by its author and by
-- the node that signed it (bans.NodeBanPolicy), and every federation call by the caller's key.
CREATE UNIQUE INDEX sync_node_bans_user ON sync_node_bans (user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX sync_node_bans_node ON sync_node_bans (node_key) WHERE node_key IS NOT NULL;

-- Every user a ban hides (directly, or homed on a banned node): the search index leaves their
-- profiles out of people results.
CREATE VIEW sync_banned_users AS
SELECT user_id FROM sync_node_bans WHERE user_id IS NOT NULL
UNION
SELECT h.user_id FROM sync_user_homes h JOIN sync_node_bans b ON b.node_key = h.node_key;

-- Users whose search documents must be re-read after a ban or its removal. Only the serving node
-- writes the index, so a ban made by the CLI leaves its note here and the serving node's job takes
-- it (sync plugin, every few seconds).
CREATE TABLE sync_ban_reindex (
    seq   INTEGER PRIMARY KEY,
    users TEXT NOT NULL                        -- JSON list of user ids
) STRICT;
