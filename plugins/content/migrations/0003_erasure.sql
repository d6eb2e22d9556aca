-- Erasure that converges across nodes: an author's delete erases the payloads of the target's
-- create and edits (event_content -> erased_content; the signed skeletons stay), and a node that
-- only ever received those skeletons builds the same tombstone row from the event bodies and the
-- delete's payload (which carries the structure the create's payload held).

-- The events whose payload holds a target's text: its create and its author's edits.
CREATE TABLE content_sources (
    event_id  BLOB PRIMARY KEY,
    target_id TEXT NOT NULL
) STRICT;
CREATE INDEX content_sources_target ON content_sources (target_id);

-- Creates that arrived without their content (erased at the origin, or withheld): what the
-- event body says, enough for a tombstone once the author's delete is known.
CREATE TABLE content_skeletons (
    target_id    TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,      -- message | post | comment
    community_id TEXT,
    author_id    TEXT NOT NULL,
    hlc          INTEGER NOT NULL
) STRICT;

-- Where a deleted target lived (from the delete's payload): a tombstone needs no create payload.
ALTER TABLE content_deletes ADD COLUMN channel_id TEXT;
ALTER TABLE content_deletes ADD COLUMN post_id TEXT;
ALTER TABLE content_deletes ADD COLUMN parent_id TEXT;
