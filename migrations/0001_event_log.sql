-- The event log: every change to community state is an appended, signed event (DESIGN.md).

-- Small node-wide values that must survive restarts (the hybrid logical clock, log key id).
CREATE TABLE node_meta (
    key   TEXT PRIMARY KEY,
    value ANY
) STRICT;

-- Log keys (ours and peers'), each certified by its node's identity key.
CREATE TABLE log_keys (
    origin     BLOB PRIMARY KEY,   -- ed25519 public key of the log
    node_key   BLOB NOT NULL,      -- identity public key that certified it
    cert       BLOB NOT NULL,      -- identity signature over the log key
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE events (
    pos         INTEGER PRIMARY KEY,   -- local arrival order; the bus offset
    id          BLOB NOT NULL UNIQUE,  -- sha256(body)
    origin      BLOB NOT NULL REFERENCES log_keys (origin),
    seq         INTEGER NOT NULL,
    hlc         INTEGER NOT NULL,
    community   TEXT,
    kind        TEXT NOT NULL,
    body        BLOB NOT NULL,         -- exact signed bytes, never re-serialised
    sig         BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (origin, seq)
) STRICT;
-- Replay and range reconciliation walk a community's events in (hlc, id) order.
CREATE INDEX events_by_community ON events (community, hlc, id);

-- Payloads live apart from the signed skeleton so they can be erased.
CREATE TABLE event_content (
    event_id BLOB PRIMARY KEY REFERENCES events (id),
    content  BLOB NOT NULL
) STRICT;

-- Erased payloads are remembered so a peer can never bring them back.
CREATE TABLE erased_content (
    event_id  BLOB PRIMARY KEY,
    erased_at INTEGER NOT NULL
) STRICT;

-- The head of each origin's log: next seq is seq + 1, prev is event_id.
CREATE TABLE log_heads (
    origin   BLOB PRIMARY KEY,
    seq      INTEGER NOT NULL,
    event_id BLOB NOT NULL,
    hlc      INTEGER NOT NULL
) STRICT;

-- Durable bus consumers: the last event position each has fully handled.
CREATE TABLE consumer_offsets (
    name       TEXT PRIMARY KEY,
    pos        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
