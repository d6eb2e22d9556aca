-- Idempotent sends: the nonce a client gives with a message (its offline outbox does), per author
-- and channel, so a send retried after its reply was lost answers the message it already made
-- instead of making a second one. Local to this node (not in the event: other nodes never see the
-- retry); an author's rows older than a day are pruned when they send again, and erasure drops them.
CREATE TABLE content_message_nonces (
    author_id  TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,              -- unix s
    PRIMARY KEY (author_id, channel_id, nonce)
) STRICT, WITHOUT ROWID;
-- Pruning an author's old nonces walks their rows by age.
CREATE INDEX content_message_nonces_age ON content_message_nonces (author_id, created_at);
