-- Search analytics (node-local, not events; pruned after analytics_retention_days). The query text
-- is kept normalised (lower-cased, spaces collapsed) and never tied to who searched.
CREATE TABLE search_queries (
    id       TEXT PRIMARY KEY,
    at       INTEGER NOT NULL,   -- ms
    q        TEXT NOT NULL,
    results  INTEGER NOT NULL,
    took_ms  INTEGER NOT NULL
) STRICT;
-- Stats group by query text over a time window; pruning walks by time.
CREATE INDEX search_queries_at ON search_queries (at);
CREATE INDEX search_queries_q ON search_queries (q, results);

CREATE TABLE search_clicks (
    query_id TEXT NOT NULL,
    key      TEXT NOT NULL,      -- the clicked document ("<kind>:<id>")
    position INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (query_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX search_clicks_at ON search_clicks (at);
