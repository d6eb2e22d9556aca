-- The users plugin's node-local tables (secrets and PII never leave this node) and the public
-- profile projection (built from user.* events, so peers build the same one).

-- One row per local account. PII is stored encrypted (SecretBox); email_index is a keyed blind
-- index (HMAC of the normalised address) so sign-in by email needs no decryption scan.
CREATE TABLE users_accounts (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    username_key   TEXT NOT NULL UNIQUE,          -- lower-cased username: uniqueness ignores case
    email_ct       BLOB,                           -- SecretBox(email); NULL once erased
    email_index    BLOB UNIQUE,                    -- HMAC(index key, normalised email)
    email_verified INTEGER NOT NULL DEFAULT 0,
    password_hash  BLOB,                           -- argon2id string; NULL for OAuth-only accounts
    admin          INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'disabled', 'deactivated', 'deleted')),
    totp_secret_ct BLOB,                           -- SecretBox(TOTP secret) while enrolling or enabled
    totp_enabled   INTEGER NOT NULL DEFAULT 0,
    last_ip_ct     BLOB,                           -- SecretBox(last sign-in address)
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- A session is one sign-in on one device: a family of refresh tokens, rotated on every use.
CREATE TABLE users_sessions (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users_accounts (id),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT,
    user_agent    TEXT NOT NULL DEFAULT '',
    ip_ct         BLOB
) STRICT;
-- Listing a user's sessions, and revoking them all on a password change.
CREATE INDEX users_sessions_by_user ON users_sessions (user_id, revoked_at);
-- The authenticator reloads recent revocations (from the CLI or another worker) by time.
CREATE INDEX users_sessions_by_revoked ON users_sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Refresh tokens are stored as sha256 only. A used token stays (used_at set) so that presenting it
-- again is recognised as reuse and kills the family.
CREATE TABLE users_refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES users_sessions (id),
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

-- Public profiles of every user this node knows (local or from peers), projected from events.
CREATE TABLE users_profiles (
    user_id      TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    bio          TEXT NOT NULL DEFAULT '',
    pronouns     TEXT NOT NULL DEFAULT '',
    avatar       TEXT,
    created_hlc  INTEGER NOT NULL,
    hlc          INTEGER NOT NULL,                 -- of the profile snapshot shown (last writer wins)
    erased       INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Which events carry a user's profile content, so erasure can wipe them on every node.
CREATE TABLE users_profile_events (
    user_id  TEXT NOT NULL,
    event_id BLOB NOT NULL,
    PRIMARY KEY (user_id, event_id)
) STRICT;

-- Append-only audit log: triggers refuse UPDATE and DELETE.
CREATE TABLE users_audit (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,                     -- unix ms
    action   TEXT NOT NULL,
    user_id  TEXT,                                 -- whom it concerns (NULL: unknown account)
    actor_id TEXT,                                 -- who did it (NULL: anonymous or the CLI)
    ip_ct    BLOB,                                 -- SecretBox(client address)
    detail   TEXT NOT NULL DEFAULT '{}'            -- JSON, never secrets or PII
) STRICT;
CREATE INDEX users_audit_by_user ON users_audit (user_id, id);
CREATE TRIGGER users_audit_no_update BEFORE UPDATE ON users_audit
BEGIN SELECT RAISE(ABORT, 'users_audit is append-only'); END;
CREATE TRIGGER users_audit_no_delete BEFORE DELETE ON users_audit
BEGIN SELECT RAISE(ABORT, 'users_audit is append-only'); END;
