"""Finding the message, post or comment a request names, with what the permission checks need."""

from __future__ import annotations

from dataclasses import dataclass

from cryb_node.db import Database
from cryb_node.problems import not_found

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
