-- The channel's thread list (GET /channels/{id}/threads) walks only messages that have replies, the
-- most recently active first; a partial index keeps it off the whole channel history.
CREATE INDEX content_messages_threads ON content_messages (channel_id, thread_last_hlc) WHERE thread_count > 0;
