-- Forum channels' tag sets (channel.tags): posts there may only carry these tags. A projection
-- table: a community's replay clears and refills it (events.PROJECTION_TABLES).
CREATE TABLE community_channel_tags (
    community_id TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    tags         TEXT NOT NULL,   -- JSON list, lower case
    PRIMARY KEY (community_id, channel_id)
) STRICT, WITHOUT ROWID;
