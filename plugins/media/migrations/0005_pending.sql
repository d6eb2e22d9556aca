-- Variants still to be made for uploads answered early (plugins/media/pending.py). An upload is
-- answered once its thumbnails and display size exist; AVIF and the full-size original of a large
-- photo are made afterwards from the upload's bytes, which wait in data/media/pending/<media_id>
-- until then. The row is the durable to-do: a restart finishes whatever it lists.
CREATE TABLE media_pending (
    media_id TEXT PRIMARY KEY REFERENCES media (id) ON DELETE CASCADE,
    variants TEXT NOT NULL,            -- names still to make, comma-separated (avif,original)
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
