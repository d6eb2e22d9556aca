"""Backups: the database replicated by Litestream to a file or S3 target and the media blobs
copied beside it. ``replication`` supervises the running `litestream replicate` child,
``litestream`` holds its config and one-shot commands, ``blobs`` copies media blobs (local backend),
``replica`` lists, restores and verifies what the target holds, and ``cli`` is `cryb backup`.
Federation between nodes is not here: that is ``cryb_node.sync``.
"""
