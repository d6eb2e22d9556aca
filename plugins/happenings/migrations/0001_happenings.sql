-- Scheduled events of communities (plugins/happenings): projections of the replicated
-- scheduled_event.* events, and the node-local record of reminders already sent.

-- One row per scheduled event. Its id is the first 32 hex digits of the create event's id, so no
-- peer can make two events share one. create and update both carry every field; the newest by
-- (rev_hlc, rev_id) wins, so edits arriving in any order leave the same row. created = 0: an edit
-- arrived before its create (the row is not listed until the create lands).
CREATE TABLE hap_events (
    id             TEXT PRIMARY KEY,
    community_id   TEXT NOT NULL,
    creator_id     TEXT,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL,
    start_ms       INTEGER NOT NULL,
    end_ms         INTEGER,
    time_zone      TEXT NOT NULL,
    channel_id     TEXT,
    location_text  TEXT,
    cover_media_id TEXT,
    cancelled      INTEGER NOT NULL DEFAULT 0,
    cancelled_hlc  INTEGER,              -- the earliest cancel: answers after it do not count
    created        INTEGER NOT NULL DEFAULT 0,
    created_hlc    INTEGER,
    rev_hlc        INTEGER NOT NULL,
    rev_id         BLOB NOT NULL
) STRICT;
-- The events page and the iCal feed list a community's events by start time; the reminder job
-- looks for events starting soon across communities.
CREATE INDEX hap_events_by_community ON hap_events (community_id, start_ms);
CREATE INDEX hap_events_by_start ON hap_events (start_ms) WHERE cancelled = 0 AND created = 1;

-- One answer per member and event, the newest by (hlc, event id). status 'none' rows are kept so
-- an older answer arriving later does not come back.
CREATE TABLE hap_rsvps (
    event_id     TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    community_id TEXT NOT NULL,
    status       TEXT NOT NULL,       -- going | interested | none
    hlc          INTEGER NOT NULL,
    rev_id       BLOB NOT NULL,
    PRIMARY KEY (event_id, user_id)
) STRICT, WITHOUT ROWID;

-- Reminders this node sent (node-local: every node reminds its own users once per start time).
CREATE TABLE hap_reminded (
    event_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    PRIMARY KEY (event_id, user_id, start_ms)
) STRICT, WITHOUT ROWID;

-- When a member last left, was kicked or was banned (the communities plugin's member.* events):
-- their answers from before then no longer count. Kept as the newest such hlc rather than by
-- deleting answers, so an older answer arriving after the departure stays out too.
CREATE TABLE hap_departures (
    community_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    PRIMARY KEY (community_id, user_id)
) STRICT, WITHOUT ROWID;
