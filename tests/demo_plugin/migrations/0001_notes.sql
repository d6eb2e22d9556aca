-- The demo plugin's tables: notes (a projection), a tally kept by a bus consumer, job ticks.
CREATE TABLE demo_notes (
    id     TEXT PRIMARY KEY,
    text   TEXT NOT NULL,
    author TEXT,
    hlc    INTEGER NOT NULL
) STRICT;

-- One row per event the tally consumer handled; the primary key makes a duplicate delivery fail loudly.
CREATE TABLE demo_tally_seen (
    event_id BLOB PRIMARY KEY
) STRICT;

CREATE TABLE demo_ticks (
    n INTEGER PRIMARY KEY
) STRICT;
