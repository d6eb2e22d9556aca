-- Onboarding: rules screening, verification level, welcome screen, self-assignable roles
-- (onboarding.set), and each member's acceptance (member.onboard). Projection tables: a community's
-- replay clears and refills them (events.PROJECTION_TABLES).
CREATE TABLE community_onboarding (
    community_id  TEXT PRIMARY KEY,
    rules         TEXT NOT NULL,        -- Markdown
    rules_hash    TEXT NOT NULL,
    require_rules INTEGER NOT NULL,
    verification  TEXT NOT NULL,        -- none | email | account_age | member_age
    min_minutes   INTEGER NOT NULL,
    welcome       TEXT NOT NULL,
    channels      TEXT NOT NULL,        -- JSON [{channel_id, note}]
    self_roles    TEXT NOT NULL,        -- JSON [role_id]
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE community_onboarded (
    community_id   TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    accepted_at    INTEGER NOT NULL,    -- ms; counts only if at or after the member's joined_at
    rules_hash     TEXT NOT NULL,
    email_verified INTEGER NOT NULL,    -- the author's home node vouched for the address
    PRIMARY KEY (community_id, user_id)
) STRICT, WITHOUT ROWID;
