-- Email tokens, two-factor recovery codes, OAuth links and relationships (all node-local).

-- Single-use expiring tokens mailed to the user, stored as sha256. purpose: verify | reset.
-- For a change of address, email_ct/email_index hold the new address until it is verified.
CREATE TABLE users_email_tokens (
    token_hash  BLOB PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users_accounts (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email_ct    BLOB,
    email_index BLOB,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT;
CREATE INDEX users_email_tokens_by_user ON users_email_tokens (user_id, purpose);

-- One-time recovery codes for two-factor sign-in, stored as sha256.
CREATE TABLE users_recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users_accounts (id),
    code_hash BLOB NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- Accounts at OAuth / OpenID Connect providers linked to local users.
CREATE TABLE users_oauth_links (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users_accounts (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
) STRICT;
CREATE INDEX users_oauth_links_by_user ON users_oauth_links (user_id);

-- Relationships as each side sees them: friend, outgoing / incoming request, blocked.
CREATE TABLE users_relationships (
    user_id    TEXT NOT NULL,
    other_id   TEXT NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('friend', 'outgoing', 'incoming', 'blocked')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, other_id)
) STRICT;
-- is_blocked(a, b) looks both ways.
CREATE INDEX users_relationships_by_other ON users_relationships (other_id, user_id);
