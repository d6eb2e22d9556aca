-- Rate-limit windows and sign-in failure counts, so a restart does not reset them
-- (cryb_node/http/ratestore.py). Written in batches off the request path; rows past
-- expires_at are deleted at each batch.
CREATE TABLE rate_state (
    scope      TEXT NOT NULL,   -- "ratelimit", or "<plugin>.<name>"
    key        TEXT NOT NULL,
    value      BLOB NOT NULL,   -- JSON
    expires_at REAL NOT NULL,   -- unix seconds
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
-- The expiry sweep at each batch deletes by scope and time.
CREATE INDEX rate_state_by_expiry ON rate_state (scope, expires_at);
