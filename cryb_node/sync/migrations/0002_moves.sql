-- Accounts that moved to another node (a user.moved event signed by their home): the forwarding
-- record. Everywhere it re-homes the account (sync_user_homes follows it); on the old home it
-- answers where the account lives now (GET /api/v1/users/{id}/home).
CREATE TABLE sync_moved (
    user_id  TEXT PRIMARY KEY,
    node_key BLOB NOT NULL,                   -- the new home's identity key
    url      TEXT NOT NULL,                   -- its base URL, as the old home gave it
    from_key BLOB NOT NULL,                   -- the home it moved from
    hlc      INTEGER NOT NULL
) STRICT;
