"""Finding the message, post or comment a request names, with what the permission checks need; and
the same lookup offered to other plugins as the ContentTargets service (reports validate by it)."""

from __future__ import annotations

from dataclasses import dataclass

from cryb_node.db import Database
from cryb_node.problems import Problem, not_found
from cryb_node.services import ContentRef

_SQL = {
    "message": "SELECT channel_id, community_id, author_id, deleted, hidden + purged, NULL, 0 FROM"
    " content_messages",
    "post": "SELECT channel_id, community_id, author_id, deleted, hidden + purged, id, locked FROM"
    " content_posts",
    "comment": "SELECT c.channel_id, c.community_id, c.author_id, c.deleted, c.hidden + c.purged, c.post_id,"
    " p.locked FROM content_comments c LEFT JOIN content_posts p ON p.id = c.post_id",
}
_ID = {"message": "id", "post": "id", "comment": "c.id"}


@dataclass(frozen=True, slots=True)
class Target:
    type: str
    id: str
    channel_id: str
    community_id: str | None
    author_id: str
    deleted: bool
    removed: bool
    post_id: str | None  # posts: itself; comments: their post
    locked: bool  # posts (and comments of a post) locked by a moderator


async def locate(db: Database, target_type: str, target_id: str, *, deleted_ok: bool = False) -> Target:
    row = await db.fetchone(f"{_SQL[target_type]} WHERE {_ID[target_type]} = ?", (target_id,))
    if row is None or (row[3] and not deleted_ok):
        raise not_found(target_type)
    return Target(
        target_type, target_id, row[0], row[1], row[2], bool(row[3]), bool(row[4]), row[5], bool(row[6])
    )


EXCERPT_CHARS = 300  # enough to judge a report by; the rest stays where it was written
_TEXT = {
    "message": "SELECT content FROM content_messages WHERE id = ?",
    "post": "SELECT title FROM content_posts WHERE id = ?",
    "comment": "SELECT body FROM content_comments WHERE id = ?",
}


class ContentTargetService:
    """The core's ContentTargets service."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, target_type: str, target_id: str) -> ContentRef | None:
        if target_type not in _SQL:
            return None
        try:
            t = await locate(self.db, target_type, target_id)
        except Problem:
            return None
        text = await self.db.fetchval(_TEXT[target_type], (target_id,)) or ""
        participants: tuple[str, ...] = ()
        if t.community_id is None:
            rows = await self.db.fetchall(
                "SELECT user_id FROM content_dm_members WHERE channel_id = ? ORDER BY user_id",
                (t.channel_id,),
            )
            participants = tuple(r[0] for r in rows)
        return ContentRef(
            type=target_type, id=target_id, channel_id=t.channel_id, community_id=t.community_id,
            post_id=t.post_id, author_id=t.author_id, excerpt=text[:EXCERPT_CHARS], participants=participants,
            removed=t.removed,
        )  # fmt: skip
