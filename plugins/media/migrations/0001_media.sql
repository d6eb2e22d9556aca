-- Media: node-local records of uploads (not events; content stores only the media id).

-- Stored files, content-addressed: the key in storage is the sha256 of the bytes, so a file
-- uploaded (or produced) twice is stored once. A blob nothing refers to is marked orphaned and
-- deleted by the cleanup job after a grace period; `deleting` fences uploads of the same bytes
-- while the job removes the file.
CREATE TABLE media_blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    orphaned_ms INTEGER,
    deleting INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- The cleanup job looks for orphaned blobs by age.
CREATE INDEX media_blobs_orphaned ON media_blobs (orphaned_ms) WHERE orphaned_ms IS NOT NULL;

CREATE TABLE media (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio')),
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,              -- bytes uploaded (what quotas count)
    source_sha256 TEXT NOT NULL,        -- of the uploaded bytes: a repeat upload reuses the variants
    filename TEXT NOT NULL DEFAULT '',  -- display only (Content-Disposition); never used for typing
    width INTEGER,
    height INTEGER,
    frames INTEGER,
    placeholder TEXT,
    dominant_color TEXT,
    channel_id TEXT,                    -- attached in this channel (private unless anyone may view it)
    attached_ms INTEGER,                -- NULL: not attached yet (an orphan after orphan_ttl_s)
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;
-- Quotas sum a user's uploads.
CREATE INDEX media_owner ON media (owner_id);
-- The cleanup job finds old unattached uploads.
CREATE INDEX media_unattached ON media (created_ms) WHERE attached_ms IS NULL;
-- A repeat upload of the same bytes finds the earlier one.
CREATE INDEX media_source ON media (source_sha256);

CREATE TABLE media_variants (
    media_id TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    name TEXT NOT NULL,                 -- original | webp | avif | thumb_<px> | poster
    sha256 TEXT NOT NULL REFERENCES media_blobs (sha256),
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    PRIMARY KEY (media_id, name)
) WITHOUT ROWID;
-- Whether a blob is still referenced.
CREATE INDEX media_variants_blob ON media_variants (sha256);
