"""Saved items as library calls: save a message, post or comment the member may read, drop it, list
them newest first (items the member can no longer read, or that were deleted, are left out)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from cryb_node.db import Connection
from cryb_node.node import Node
from cryb_node.problems import Problem, not_found
from cryb_node.services import CONTENT_TARGETS, PERMISSIONS, ContentRef, Perm

from . import queries

TargetType = Literal["message", "post", "comment"]
MAX_SAVED = 1000  # per member: a bookmark list, not an archive


class SavedQuery(msgspec.Struct, forbid_unknown_fields=True):
    before: Annotated[str, Meta(max_length=80, description="the previous page's next")] | None = None
    limit: Annotated[int, Meta(ge=1, le=100)] = 50


class SavedItem(msgspec.Struct, kw_only=True):
    type: str
    id: str
    channel_id: str
    community_id: str | None
    post_id: str | None
    author_id: str
    excerpt: str
    saved_at: int


class SavedList(msgspec.Struct):
    items: list[SavedItem]
    next: str | None = None


class SavedState(msgspec.Struct):
    saved: bool


class Saved:
    def __init__(self, node: Node) -> None:
        self.node = node

    async def _readable(self, user_id: str, target_type: str, target_id: str) -> ContentRef | None:
        ref = await self.node.services.require(CONTENT_TARGETS).find(target_type, target_id)
        if ref is None:
            return None
        if ref.community_id is None:
            return ref if user_id in ref.participants else None
        access = await self.node.services.require(PERMISSIONS).channel(user_id, ref.channel_id)
        if access is None or not (access.has(Perm.VIEW_CHANNEL) and access.has(Perm.READ_HISTORY)):
            return None
        return ref

    async def save(self, user_id: str, target_type: str, target_id: str) -> SavedState:
        # What the member may not read does not exist, as far as they are told.
        if await self._readable(user_id, target_type, target_id) is None:
            raise not_found(target_type)
        now = self.node.clock.time_ms()

        def write(conn: Connection) -> None:
            if queries.count(conn, user_id) >= MAX_SAVED:
                raise Problem("too_many_saved", 409, f"you can keep at most {MAX_SAVED} saved items")
            queries.insert(conn, user_id, target_type, target_id, now)

        await self.node.db.write(write)
        return SavedState(True)

    async def unsave(self, user_id: str, target_type: str, target_id: str) -> SavedState:
        await self.node.db.write(lambda conn: queries.delete(conn, user_id, target_type, target_id))
        return SavedState(False)

    async def is_saved(self, user_id: str, target_type: str, target_id: str) -> SavedState:
        row = await self.node.db.fetchone(queries.IS_SAVED, (user_id, target_type, target_id))
        return SavedState(row is not None)

    async def listing(self, user_id: str, q: SavedQuery) -> SavedList:
        cursor: tuple[int, str] | None = None
        if q.before:
            when, _, after_id = q.before.partition(":")
            if not when.isdigit():
                raise Problem("invalid_field", 400, "before: pass the previous page's next", field="before")
            cursor = (int(when), after_id)
        items: list[SavedItem] = []
        # Unreadable or deleted items are skipped, so read on until the page is full.
        while True:
            rows = await queries.page(self.node.db, user_id, cursor, q.limit)
            for r in rows:
                at, tid = r["saved_at"], r["target_id"]
                cursor = (at, tid)
                ref = await self._readable(user_id, r["target_type"], tid)
                if ref is not None:
                    items.append(_item(ref, at))
                if len(items) == q.limit:
                    more = bool(await queries.page(self.node.db, user_id, cursor, 1))
                    return SavedList(items, f"{at}:{tid}" if more else None)
            if len(rows) < q.limit:
                return SavedList(items, None)


def _item(ref: ContentRef, saved_at: int) -> SavedItem:
    return SavedItem(
        type=ref.type,
        id=ref.id,
        channel_id=ref.channel_id,
        community_id=ref.community_id,
        post_id=ref.post_id,
        author_id=ref.author_id,
        excerpt=ref.excerpt,
        saved_at=saved_at,
    )
