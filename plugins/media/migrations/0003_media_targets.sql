-- Which content attaches each local upload (plugins/media/attached.py), so an author's delete of a
-- message or post, or their account's erasure, deletes what it attached (as Discord does with a
-- message's files). Filled from the verified events that attach media (their target is the
-- message, post or, for an avatar, the user); one upload may be attached by more than one target
-- (the same file in two messages of one channel) and goes only when the last of them is deleted.
CREATE TABLE media_targets (
    media_id  TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    target_id TEXT NOT NULL,
    PRIMARY KEY (media_id, target_id)
) WITHOUT ROWID;
-- A delete finds what its target attached.
CREATE INDEX media_targets_target ON media_targets (target_id);
