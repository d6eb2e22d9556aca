"""Local uploads follow the content that attaches them (see migrations/0003_media_targets.sql).

A durable consumer, exactly-once in its own transaction, reads the log in order: an event that
attaches this node's uploads (a message, a post, a profile's avatar) links each to its target; the
author's own delete of that target (message.delete, post.delete, comment.delete; an account's
erasure appends these for everything it wrote) unlinks it, and an upload no target attaches any
more is deleted: its row goes at once (not served here, not handed to peers: it is gone for
everyone, its owner included), and its blobs are marked orphaned unless another upload still uses
the same bytes, for the cleanup job (gc.py) to remove after ``blob_grace_s``. user.erased also takes
the account's avatar and its uploads that were never attached.

A moderator's removal (content.moderate) is not a delete: it is reversible, so the media stays.
Other nodes' cached copies are dropped by remote.py on the same events.
"""

from __future__ import annotations

from cryb_node.db import Connection
from cryb_node.events import Event

from . import queries
from .remote import ATTACHING, attachments_of

# Deletes of the author's own content (comments attach nothing today; listed so they will).
DELETING = frozenset({"message.delete", "post.delete", "comment.delete"})
ERASED = "user.erased"
KINDS = ATTACHING | DELETING | {ERASED}


def link(conn: Connection, ev: Event) -> None:
    """The attaching event's uploads now belong to its target too. Only the author's own uploads,
    already attached here by the content service (which checked them), are linked."""
    if ev.payload is None or ev.body.target is None or ev.body.author is None:
        return  # erased or withheld: it attaches nothing any more
    ids, _ = attachments_of(ev)
    conn.executemany(
        "INSERT OR IGNORE INTO media_targets (media_id, target_id)"
        " SELECT id, ? FROM media WHERE id = ? AND owner_id = ? AND attached_ms IS NOT NULL",
        [(ev.body.target, m, ev.body.author) for m in ids],
    )


def unlink(conn: Connection, *, target: str, owner: str) -> list[str]:
    """Forget what ``target`` attached of ``owner``'s uploads; returns the uploads nothing attaches
    any more (to be deleted)."""
    ids = [
        r["media_id"]
        for r in conn.execute(
            "DELETE FROM media_targets WHERE target_id = ?"
            " AND media_id IN (SELECT id FROM media WHERE owner_id = ?) RETURNING media_id",
            (target, owner),
        ).fetchall()
    ]
    return [
        m
        for m in ids
        if conn.execute("SELECT 1 FROM media_targets WHERE media_id = ?", (m,)).fetchone() is None
    ]


def handle(conn: Connection, events: list[Event], now: int) -> int:
    """The consumer's batch; returns how many uploads were deleted."""
    doomed: list[str] = []
    for ev in events:
        target, author = ev.body.target, ev.body.author
        if ev.kind in ATTACHING:
            link(conn, ev)
        elif target is None:
            continue
        elif ev.kind in DELETING:
            if author is not None:  # only the author's own delete reaches their uploads
                doomed += unlink(conn, target=target, owner=author)
        elif ev.kind == ERASED:
            # The avatar (linked to the user), then uploads never attached to anything.
            doomed += unlink(conn, target=target, owner=target)
            doomed += [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM media WHERE owner_id = ? AND attached_ms IS NULL", (target,)
                ).fetchall()
            ]
    doomed = list(dict.fromkeys(doomed))
    return queries.delete_media(conn, ids=doomed, now=now) if doomed else 0
