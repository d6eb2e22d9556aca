-- Slash commands bots register per community, bots' interactions endpoints, and interactions (one
-- use of a command, waiting for the bot's answer until its deadline). plugins/integrations/commands.py.

CREATE TABLE integ_commands (
    id           TEXT PRIMARY KEY,
    community_id TEXT NOT NULL,
    bot_id       TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    options      TEXT NOT NULL,                   -- JSON list of {name, description, type, required}
    created_at   INTEGER NOT NULL,
    UNIQUE (community_id, name)                   -- the composer offers one /name per community
) STRICT;
-- A bot's commands (replaced or removed when it leaves or is deleted).
CREATE INDEX integ_commands_by_bot ON integ_commands (bot_id);

-- A bot that prefers HTTP to the gateway: interactions are POSTed there, signed with the secret.
CREATE TABLE integ_bot_endpoints (
    bot_id     TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE integ_interactions (
    id           TEXT PRIMARY KEY,
    command_id   TEXT NOT NULL,
    name         TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    bot_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,                -- ms
    deadline_at  INTEGER NOT NULL,                -- ms: answers after it are refused
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'answered', 'expired'))
) STRICT;
-- Pruning old interactions.
CREATE INDEX integ_interactions_by_time ON integ_interactions (created_at);
