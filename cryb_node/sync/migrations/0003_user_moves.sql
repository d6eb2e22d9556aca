-- Every move of an account that took effect (a user.moved signed by its then home), so the home an
-- event's author had at the event's position in the (hlc, id) order can be told on every node
-- alike: an event by the account before a move comes from the old home, after it from the new.
CREATE TABLE sync_user_moves (
    user_id  TEXT NOT NULL,
    hlc      INTEGER NOT NULL,                -- the user.moved event's
    from_key BLOB NOT NULL,                   -- the home it left
    to_key   BLOB NOT NULL,                   -- the home it moved to
    PRIMARY KEY (user_id, hlc)
) STRICT;
-- Moves made before this table: the forwarding record holds each account's latest one.
INSERT INTO sync_user_moves (user_id, hlc, from_key, to_key)
SELECT user_id, hlc, from_key, node_key FROM sync_moved;
