"""Beyond one process: the primary publishes its event log to NATS JetStream (publisher.py); edges
apply that stream to their own replica (replica.py), serve reads and the WebSocket gateway from it and
forward writes to the primary (forward.py). docs/scaling.md describes deployment and failure modes.
Nothing here runs unless `[scale] nats_url` is set: a single process needs no NATS."""
