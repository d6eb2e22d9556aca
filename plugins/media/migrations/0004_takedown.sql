-- Take-downs by node admins (plugins/media/takedown.py): media removed for everyone, its stored
-- files deleted, and its bytes refused from then on.

-- Bytes this node refuses: at upload (every path goes through upload.py and the insert
-- transaction) and from peers (a remote description or blob with these bytes is not fetched).
-- A take-down blocks the uploaded bytes (the head entry) and every file made from them (its
-- variants: a re-upload of the served JPEG or WebP is refused too), listed as ``derived_from`` the
-- head so unblocking the head unblocks them all.
CREATE TABLE media_blocklist (
    sha256       TEXT PRIMARY KEY,
    reason       TEXT NOT NULL,
    actor_id     TEXT,                  -- NULL: the operator at the console (`cryb media ...`)
    media_id     TEXT,                  -- the take-down that put it here, if one did
    derived_from TEXT,                  -- NULL: a head entry (what the block list shows)
    created_ms   INTEGER NOT NULL
) WITHOUT ROWID;
-- Unblocking a head finds the entries derived from it.
CREATE INDEX media_blocklist_derived ON media_blocklist (derived_from) WHERE derived_from IS NOT NULL;

-- Media ids taken down: this node's uploads (the media row stays, without variants, so the admin
-- list still shows what it was) and other nodes' media (never fetched again, whatever content
-- here still attaches it). A take-down is final for its ids; unblocking only frees the bytes.
CREATE TABLE media_takedowns (
    media_id   TEXT PRIMARY KEY,
    sha256     TEXT,                    -- the blocked head entry (NULL: a remote id never described)
    reason     TEXT NOT NULL,
    actor_id   TEXT,
    remote     INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
