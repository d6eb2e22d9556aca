"""Finding the message, post or comment a request names, with what the permission checks need; and
the same lookup offered to other plugins as the ContentTargets service (reports validate by it)."""

from __future__ import annotations

from dataclasses import dataclass

from cryb_node.db import Database
from cryb_node.problems import Problem, not_found
from cryb_node.services import ContentRef

from . import queries, queries_chat


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
    row = await queries.target(db, target_type, target_id)
    if row is None or (row["deleted"] and not deleted_ok):
        raise not_found(target_type)
    return Target(
        type=target_type,
        id=target_id,
        channel_id=row["channel_id"],
        community_id=row["community_id"],
        author_id=row["author_id"],
        deleted=bool(row["deleted"]),
        removed=bool(row["removed"]),
        post_id=row["post_id"],
        locked=bool(row["locked"]),
    )


EXCERPT_CHARS = 300  # enough to judge a report by; the rest stays where it was written


class ContentTargetService:
    """The core's ContentTargets service."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, target_type: str, target_id: str) -> ContentRef | None:
        if target_type not in queries.TARGET_TYPES:
            return None
        try:
            t = await locate(self.db, target_type, target_id)
        except Problem:
            return None
        text = await queries.target_text(self.db, target_type, target_id) or ""
        participants: tuple[str, ...] = ()
        if t.community_id is None:
            participants = tuple(await queries_chat.dm_participants(self.db, t.channel_id))
        return ContentRef(
            type=target_type, id=target_id, channel_id=t.channel_id, community_id=t.community_id,
            post_id=t.post_id, author_id=t.author_id, excerpt=text[:EXCERPT_CHARS], participants=participants,
            removed=t.removed,
        )  # fmt: skip
