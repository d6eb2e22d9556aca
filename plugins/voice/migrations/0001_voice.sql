-- Node-local settings of a voice channel (its user limit; no row: no limit). Set by members with
-- MANAGE_CHANNELS through PUT /channels/{id}/voice; not an event, so peers do not share it.
CREATE TABLE voice_channels (
    channel_id TEXT PRIMARY KEY,
    user_limit INTEGER NOT NULL DEFAULT 0        -- 0: no limit
) STRICT;

-- A member's server mute and deafen in a community, projected from voice.mute / voice.deafen: they
-- outlast a call (the member is still muted when they join again). The hlc columns keep the newest
-- event's value whatever order events arrive in.
CREATE TABLE voice_server_state (
    community_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    mute         INTEGER NOT NULL DEFAULT 0,
    mute_hlc     INTEGER NOT NULL DEFAULT 0,
    deaf         INTEGER NOT NULL DEFAULT 0,
    deaf_hlc     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, user_id)
) STRICT;
