"""Erasure that converges (see projections.py): an author's delete erases the payloads that held
the target's text, and a create known only by its skeleton becomes the same tombstone row, built
from the create's body and the delete's payload."""

from __future__ import annotations

from cryb_node.clock import wall_ms
from cryb_node.db import Connection, Database, Row
from cryb_node.events import Event, Tx
from cryb_node.services import AuthoredCounts

from .events import Delete, Moderate, TargetType


def erase(conn: Connection, target: str) -> None:
    """The author's delete is final: the payloads that held the target's text are erased here and
    never accepted again (EventLog.ingest checks erased_content); the signed skeletons stay."""
    now = int(conn.clock.time())
    for src in conn.execute("SELECT event_id FROM content_sources WHERE target_id = ?", (target,)).fetchall():
        eid = src["event_id"]
        conn.execute("DELETE FROM event_content WHERE event_id = ?", (eid,))
        conn.execute("INSERT OR IGNORE INTO erased_content (event_id, erased_at) VALUES (?, ?)", (eid, now))
    conn.execute("DELETE FROM content_edits WHERE target_id = ?", (target,))


def source(conn: Connection, ev: Event) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO content_sources (event_id, target_id) VALUES (?, ?)", (ev.id, ev.body.target)
    )


def tombstone(conn: Connection, kind: str, target: str) -> None:
    """A create we only hold the skeleton of, and its author's delete: the tombstone row, from the
    create's body and the delete's payload (the same row settle_* leaves where the text was held)."""
    sk = conn.execute(
        "SELECT community_id, author_id, hlc FROM content_skeletons WHERE target_id = ? AND kind = ?",
        (target, kind),
    ).fetchone()
    if sk is None:
        return
    community, author, hlc = sk["community_id"], sk["author_id"], sk["hlc"]
    d = conn.execute(
        "SELECT channel_id, post_id, parent_id FROM content_deletes WHERE target_id = ? AND author_id = ?",
        (target, author),
    ).fetchone()
    if d is None or d["channel_id"] is None:
        return
    channel, post, parent = d["channel_id"], d["post_id"], d["parent_id"]
    if kind == "message":
        conn.execute(
            "INSERT OR IGNORE INTO content_messages (id, channel_id, community_id, author_id, hlc,"
            " created_at, content) VALUES (?, ?, ?, ?, ?, ?, '')",
            (target, channel, community, author, hlc, wall_ms(hlc)),
        )
    elif kind == "post":
        conn.execute(
            "INSERT OR IGNORE INTO content_posts (id, channel_id, community_id, author_id, hlc, created_at,"
            " title) VALUES (?, ?, ?, ?, ?, ?, '[deleted]')",
            (target, channel, community, author, hlc, wall_ms(hlc)),
        )
    elif post is not None:
        conn.execute(
            "INSERT OR IGNORE INTO content_comments (id, post_id, parent_id, channel_id, community_id,"
            " author_id, hlc, created_at, body, body_html) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '')",
            (target, post, parent, channel, community, author, hlc, wall_ms(hlc)),
        )


class AuthorErasure:
    """The AuthoredContent service: an erased account's writing goes the way its own deletes go."""

    def erase_author(self, tx: Tx, user_id: str) -> int:
        conn, n = tx.conn, 0
        conn.execute("DELETE FROM content_message_nonces WHERE author_id = ?", (user_id,))

        def own(table: str, columns: str) -> list[Row]:
            # Rows already deleted were erased by their own delete.
            return conn.execute(
                f"SELECT {columns} FROM {table} WHERE author_id = ? AND deleted = 0 ORDER BY hlc", (user_id,)
            ).fetchall()

        # Messages (DMs too: community None), then comments (their place travels in the delete),
        # then posts.
        for m in own("content_messages", "id, channel_id, community_id"):
            tx.append("message.delete", Delete(channel_id=m["channel_id"]), community=m["community_id"],
                      author=user_id, target=m["id"])  # fmt: skip
            n += 1
        for c in own("content_comments", "id, channel_id, community_id, post_id, parent_id"):
            payload = Delete(channel_id=c["channel_id"], post_id=c["post_id"], parent_id=c["parent_id"])
            tx.append("comment.delete", payload, community=c["community_id"], author=user_id, target=c["id"])
            n += 1
        for p in own("content_posts", "id, channel_id, community_id"):
            tx.append("post.delete", Delete(channel_id=p["channel_id"]), community=p["community_id"],
                      author=user_id, target=p["id"])  # fmt: skip
            n += 1
        return n

    def remove_author(self, tx: Tx, user_id: str, communities: list[str], reason: str) -> int:
        n = 0
        marks = ",".join("?" * len(communities))
        for kind, table in _AUTHORED:
            rows = tx.conn.execute(
                f"SELECT id, channel_id, community_id FROM {table} WHERE author_id = ? AND deleted = 0"
                f" AND hidden = 0 AND community_id IN ({marks}) ORDER BY hlc",
                (user_id, *communities),
            ).fetchall()
            for r in rows:
                payload = Moderate(target_type=kind, channel_id=r["channel_id"], field="hidden", value=True,
                                   rank=3, reason=reason)  # fmt: skip
                tx.append(
                    "content.moderate", payload, community=r["community_id"], author=None, target=r["id"]
                )
                n += 1
        return n

    async def count_author(self, db: Database, user_id: str) -> AuthoredCounts:
        # Each count walks the table's (author_id, ...) index; deleted rows are tombstones.
        row = await db.fetchone(
            "SELECT (SELECT count(*) FROM content_messages WHERE author_id = ?1 AND deleted = 0) AS messages,"
            " (SELECT count(*) FROM content_posts WHERE author_id = ?1 AND deleted = 0) AS posts,"
            " (SELECT count(*) FROM content_comments WHERE author_id = ?1 AND deleted = 0) AS comments",
            (user_id,),
        )
        assert row is not None
        return AuthoredCounts(messages=row["messages"], posts=row["posts"], comments=row["comments"])


_AUTHORED: tuple[tuple[TargetType, str], ...] = (
    ("message", "content_messages"),
    ("post", "content_posts"),
    ("comment", "content_comments"),
)
