-- Members' own data exports (GET /api/v1/users/@me/export): a background job per request, whose ZIP
-- waits in the data dir (exports/<id>.zip) until it expires. Node-local, like the account itself.
CREATE TABLE users_exports (
    id          TEXT PRIMARY KEY,                  -- time-sortable: the latest export has the highest id
    user_id     TEXT NOT NULL REFERENCES users_accounts (id),
    state       TEXT NOT NULL
                CHECK (state IN ('queued', 'running', 'ready', 'failed', 'expired')),
    progress    REAL NOT NULL DEFAULT 0,           -- 0..1
    items       INTEGER NOT NULL DEFAULT 0,        -- records and files written so far
    step        TEXT NOT NULL DEFAULT '',          -- the plugin writing its part now
    attempts    INTEGER NOT NULL DEFAULT 0,        -- runs started (a restart mid-run tries again)
    size        INTEGER,                           -- bytes of the finished ZIP
    error       TEXT,
    created_at  INTEGER NOT NULL,                  -- unix seconds
    started_at  INTEGER,
    finished_at INTEGER,
    expires_at  INTEGER                            -- the ZIP is deleted then
) STRICT;
-- A member's latest export (the status route, and when the previous one was asked for).
CREATE INDEX users_exports_by_user ON users_exports (user_id, id);
-- One unfinished export per member, whatever two requests race: the second finds the first.
CREATE UNIQUE INDEX users_exports_one_open ON users_exports (user_id) WHERE state IN ('queued', 'running');
-- The runner takes the oldest queued export; the expiry job finds ready ones past their time.
CREATE INDEX users_exports_queued ON users_exports (id) WHERE state = 'queued';
CREATE INDEX users_exports_expiry ON users_exports (expires_at) WHERE state = 'ready';
