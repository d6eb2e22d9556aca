-- Long data migrations run in the background, in batches, while the node serves (cryb_node/backfill.py).
CREATE TABLE backfills (
    name        TEXT PRIMARY KEY,   -- "<plugin>.<name>"
    rows        INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER             -- NULL while work remains
) STRICT;
