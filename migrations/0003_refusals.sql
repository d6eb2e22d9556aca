-- Events stored but refused by the authority rules (cryb_node/refusals.py): the signed event stays in
-- the log (its origin's log must stay contiguous, and every node must hold the same events to decide
-- the same way), its projection is not applied. Evidence, like sync_forks; a verdict is recomputed when
-- a governance event lands before it in the (hlc, id) order.
CREATE TABLE event_refusals (
    event_id   BLOB PRIMARY KEY,
    community  TEXT,
    origin     BLOB NOT NULL,
    kind       TEXT NOT NULL,
    author     TEXT,
    hlc        INTEGER NOT NULL,
    code       TEXT NOT NULL,     -- a stable reason code: missing_permission, not_member, invite_required, ...
    detail     TEXT NOT NULL,
    refused_at INTEGER NOT NULL   -- unix seconds, when this node first refused it
) STRICT;
-- `cryb sync refused --peer` and the per-peer counters read by origin, newest first.
CREATE INDEX event_refusals_by_origin ON event_refusals (origin, refused_at);
