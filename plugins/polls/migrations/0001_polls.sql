-- The polls plugin's projections: polls (from the poll a message or post carries), every vote event
-- and every end event. Counts are computed from the votes when read (tally.py), so they are a function
-- of the set of events a node holds, whatever order they arrived in.
CREATE TABLE polls (
    id           TEXT PRIMARY KEY,                -- the message's or post's id
    community_id TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    target_type  TEXT NOT NULL,                   -- message | post
    author_id    TEXT NOT NULL,
    question     TEXT NOT NULL,
    answers      TEXT NOT NULL,                   -- JSON [{"text": .., "emoji": ..}]
    multiple     INTEGER NOT NULL,
    anonymous    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,                -- ms, the create event's time
    closes_at    INTEGER NOT NULL,                -- ms: votes from this time on are refused
    deleted      INTEGER NOT NULL DEFAULT 0
) STRICT;
-- clear_community deletes a community's rows when the rule book rebuilds its content.
CREATE INDEX polls_by_community ON polls (community_id);

-- One row per allowed vote event: a voter's latest vote before the poll closed is their vote.
CREATE TABLE poll_votes (
    event_id     BLOB PRIMARY KEY,
    poll_id      TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id   TEXT NOT NULL,                   -- as the vote named it (must be the poll's)
    user_id      TEXT NOT NULL,
    choices      TEXT NOT NULL,                   -- JSON list of answer indexes; [] withdraws
    hlc          INTEGER NOT NULL
) STRICT;
-- Tallies read a poll's votes newest first per voter.
CREATE INDEX poll_votes_by_poll ON poll_votes (poll_id, user_id, hlc);
CREATE INDEX poll_votes_by_community ON poll_votes (community_id);

-- Early ends (the author's, or a MANAGE_MESSAGES holder's); the earliest valid one closes the poll.
CREATE TABLE poll_ends (
    event_id     BLOB PRIMARY KEY,
    poll_id      TEXT NOT NULL,
    community_id TEXT NOT NULL,
    author_id    TEXT NOT NULL,
    moderator    INTEGER NOT NULL,
    hlc          INTEGER NOT NULL
) STRICT;
CREATE INDEX poll_ends_by_poll ON poll_ends (poll_id, hlc);
CREATE INDEX poll_ends_by_community ON poll_ends (community_id);
