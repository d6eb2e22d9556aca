-- Sign-up control (plugins/users/registration.py): accounts waiting for a node admin's approval,
-- registration tokens, and the applications' answers.

-- An account can now be 'pending' (approval mode: it cannot sign in until an admin approves it).
-- SQLite cannot change a CHECK in place, so the table is rebuilt. Foreign keys stay on: they are
-- deferred to the commit, by which time every session, token and link points at the rebuilt
-- table again (a row left pointing nowhere fails the commit, and the migration rolls back).
-- SELECT * on purpose: a column added by another migration first makes this fail loudly instead of
-- being dropped.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE users_accounts_before_0008 AS SELECT * FROM users_accounts;
DROP TABLE users_accounts;
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
                   CHECK (status IN ('active', 'pending', 'disabled', 'deactivated', 'deleted')),
    totp_secret_ct BLOB,                           -- SecretBox(TOTP secret) while enrolling or enabled
    totp_enabled   INTEGER NOT NULL DEFAULT 0,
    last_ip_ct     BLOB,                           -- SecretBox(last sign-in address)
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
INSERT INTO users_accounts SELECT * FROM users_accounts_before_0008;
DROP TABLE users_accounts_before_0008;

-- Registration tokens a node admin hands out (invite mode). Only the sha256 of a token is kept;
-- `hint` is its first characters, so an admin can tell tokens apart in a list.
CREATE TABLE users_registration_tokens (
    id         TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    hint       TEXT NOT NULL,
    created_by TEXT,                               -- the admin's user id (NULL: the CLI)
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                            -- unix s; NULL: never
    max_uses   INTEGER,                            -- NULL: unlimited
    uses       INTEGER NOT NULL DEFAULT 0,         -- counted in the transaction that creates the account
    revoked_at INTEGER
) STRICT;
-- The admin page and `cryb token list` show the newest first.
CREATE INDEX users_registration_tokens_by_created ON users_registration_tokens (created_at);

-- Approval mode: one row per pending account, deleted when an admin decides (the decision is in
-- the audit log). The answer may hold personal details: it is sealed like the email.
CREATE TABLE users_applications (
    user_id      TEXT PRIMARY KEY REFERENCES users_accounts (id),
    answer_ct    BLOB NOT NULL,                    -- SecretBox(the applicant's answer)
    display_name TEXT NOT NULL DEFAULT '',         -- published with the account once approved
    created_at   INTEGER NOT NULL
) STRICT;
-- The queue is shown oldest first.
CREATE INDEX users_applications_by_created ON users_applications (created_at);
