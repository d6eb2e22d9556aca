-- The analytics plugin: node-local, not events (DESIGN.md). Raw rows are kept for a configurable
-- window and hold no user id, email, IP or username: actors are keyed hashes under a rotating salt.
-- Rollup tables are aggregates rebuilt from the raw rows (delete + insert per day).

-- Random salts, one per ISO week ("w2025-03-03", the Monday) and one per calendar month
-- ("m2025-03"). Deleted a few days after their period ends: from then on nobody, not even with the
-- key file and a user id, can tie that period's rows to a person.
CREATE TABLE analytics_salts (
    period     TEXT PRIMARY KEY,
    salt       BLOB NOT NULL,
    expires_on TEXT NOT NULL                    -- YYYY-MM-DD: the cleanup job deletes it after this
) STRICT;

CREATE TABLE analytics_events (
    id           INTEGER PRIMARY KEY,
    day          TEXT NOT NULL,                 -- YYYY-MM-DD, UTC
    hour         INTEGER NOT NULL,              -- 0-23 UTC: no finer time is kept
    source       TEXT NOT NULL,                 -- server | client
    kind         TEXT NOT NULL,                 -- message|post|comment|reaction|vote|signup|join|leave|moderation|page_view|ui_action
    community_id TEXT NOT NULL DEFAULT '',      -- '' : none (DMs, node pages)
    channel_id   TEXT NOT NULL DEFAULT '',      -- '' : none (DMs are never named)
    post_id      TEXT NOT NULL DEFAULT '',      -- the post a post/comment/post reaction/post vote is about
    name         TEXT NOT NULL DEFAULT '',      -- client: page or action name; moderation: the action
    actor_w      TEXT,                          -- keyed hash of the user under the week's salt (NULL: none)
    actor_m      TEXT,                          -- the same under the month's salt (MAU only)
    cohort_node  TEXT,                          -- Monday of the week the actor's account was created
    cohort_comm  TEXT                           -- Monday of the week the actor joined this community
) STRICT;
-- Every rollup reads one day (or a week / month to date) at a time; cleanup deletes by day.
CREATE INDEX analytics_events_by_day ON analytics_events (day, community_id);
-- Opt-out and erasure delete a user's rows by their hashes.
CREATE INDEX analytics_events_by_actor_w ON analytics_events (actor_w) WHERE actor_w IS NOT NULL;
CREATE INDEX analytics_events_by_actor_m ON analytics_events (actor_m) WHERE actor_m IS NOT NULL;

-- Cohort membership for weekly retention: scope '' = the node (week of user.created), else a
-- community (week of member.join). ``member`` is a keyed hash of (scope, user): no salt, because a
-- cohort must be recognised in later weeks; rows go on leave, erasure, opt-out and after
-- cohort_weeks.
CREATE TABLE analytics_cohort_members (
    scope  TEXT NOT NULL,
    member TEXT NOT NULL,
    week   TEXT NOT NULL,
    PRIMARY KEY (scope, member)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_cohort_members_by_week ON analytics_cohort_members (week);

-- Users who opted out, by a keyed hash of their id.
CREATE TABLE analytics_optout (
    user_key   TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) STRICT;

-- Small values that survive restarts (the last day rolled up).
CREATE TABLE analytics_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Rollups. scope/community_id '' is the whole node.
CREATE TABLE analytics_daily_actives (
    day          TEXT NOT NULL,
    community_id TEXT NOT NULL,
    dau          INTEGER NOT NULL,
    wau          INTEGER NOT NULL,              -- distinct actives in the ISO week up to this day
    mau          INTEGER NOT NULL,              -- distinct actives in the calendar month up to this day
    new_members  INTEGER NOT NULL,              -- node: accounts created; community: joins
    left_members INTEGER NOT NULL,              -- community: leaves, kicks, bans
    PRIMARY KEY (community_id, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE analytics_daily_content (
    day          TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    messages     INTEGER NOT NULL,
    posts        INTEGER NOT NULL,
    comments     INTEGER NOT NULL,
    reactions    INTEGER NOT NULL,
    votes        INTEGER NOT NULL,
    PRIMARY KEY (community_id, day, channel_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_daily_content_by_day ON analytics_daily_content (day);

CREATE TABLE analytics_daily_posts (
    day          TEXT NOT NULL,
    community_id TEXT NOT NULL,
    post_id      TEXT NOT NULL,
    channel_id   TEXT NOT NULL,
    comments     INTEGER NOT NULL,
    reactions    INTEGER NOT NULL,
    votes        INTEGER NOT NULL,
    PRIMARY KEY (community_id, day, post_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_daily_posts_by_day ON analytics_daily_posts (day);

CREATE TABLE analytics_daily_hours (
    day          TEXT NOT NULL,
    community_id TEXT NOT NULL,
    hour         INTEGER NOT NULL,
    events       INTEGER NOT NULL,
    PRIMARY KEY (community_id, day, hour)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_daily_hours_by_day ON analytics_daily_hours (day);

CREATE TABLE analytics_daily_moderation (
    day          TEXT NOT NULL,
    community_id TEXT NOT NULL,
    action       TEXT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (community_id, day, action)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_daily_moderation_by_day ON analytics_daily_moderation (day);

CREATE TABLE analytics_daily_pages (
    day          TEXT NOT NULL,
    community_id TEXT NOT NULL,
    kind         TEXT NOT NULL,                 -- page_view | ui_action
    name         TEXT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (community_id, day, kind, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_daily_pages_by_day ON analytics_daily_pages (day);

-- Weekly retention: cohort sizes, and how many of a cohort were active in a later week (both
-- "to date" while the week runs; the rollup of the week's last day leaves the final figure).
CREATE TABLE analytics_cohorts (
    community_id TEXT NOT NULL,
    week         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    PRIMARY KEY (community_id, week)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_cohorts_by_week ON analytics_cohorts (week);

CREATE TABLE analytics_retention (
    community_id TEXT NOT NULL,
    cohort       TEXT NOT NULL,
    week         TEXT NOT NULL,
    active       INTEGER NOT NULL,
    PRIMARY KEY (community_id, cohort, week)
) STRICT, WITHOUT ROWID;
CREATE INDEX analytics_retention_by_week ON analytics_retention (week);
