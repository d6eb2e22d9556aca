-- Bot accounts and scoped API tokens (plugins/users/bots.py, api_tokens.py). A bot is an account
-- (users_accounts) with no password, owned by a user; it signs in only with API tokens.
CREATE TABLE users_bots (
    user_id    TEXT PRIMARY KEY REFERENCES users_accounts (id),
    owner_id   TEXT NOT NULL REFERENCES users_accounts (id),
    created_at INTEGER NOT NULL
) STRICT;
-- An owner's bots, listed in Settings.
CREATE INDEX users_bots_by_owner ON users_bots (owner_id);

-- Scoped tokens for people (personal tokens) and bots. Stored as sha256 only: shown once on creation.
CREATE TABLE users_api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users_accounts (id),
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,                   -- space-separated: read write moderate admin
    created_by   TEXT NOT NULL,                   -- the person who made it (a bot's owner for a bot's)
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,                         -- seconds since epoch; NULL: never
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
-- Listing one account's tokens in Settings.
CREATE INDEX users_api_tokens_by_user ON users_api_tokens (user_id, revoked_at);
