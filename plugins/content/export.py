"""The content plugin's part of a member's data export: the channel messages, posts, comments and
reactions they wrote, and every DM conversation they are in (both sides).

Everything is read in pages along the author indexes (one channel or community at a time, in time
order), so an account with a million messages costs many short reads, never one long one. What the
member deleted is left out: its text was erased on every node and is not theirs to get back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import wall_ms
from cryb_node.export import ExportSink, JsonArray
from cryb_node.services import PLACES, Place, Places

if TYPE_CHECKING:
    from cryb_node.db import Database
    from cryb_node.node import Node

PAGE = 500
# Reactions have no per-user index: they are scanned in rowid windows this wide, each one short read.
SCAN_WINDOW = 20_000


class MessageRecord(msgspec.Struct, kw_only=True):
    id: str
    community_id: str | None
    community_name: str | None
    channel_id: str
    channel_name: str | None
    created_at: int  # ms since epoch
    content: str
    edited_at: int | None
    original_content: str | None  # the text as first sent, when it was edited
    attachments: list[str]  # media ids (uploads/ holds your own)
    reply_to: str | None
    thread_id: str | None
    pinned: bool
    removed: bool  # hidden by a moderator, or by a ban's delete window


class PostRecord(msgspec.Struct, kw_only=True):
    id: str
    community_id: str
    community_name: str | None
    channel_id: str
    channel_name: str | None
    created_at: int
    title: str
    body: str
    url: str | None
    tags: list[str]
    nsfw: bool
    spoiler: bool
    edited_at: int | None
    attachments: list[str]
    score: int
    ups: int
    downs: int
    comment_count: int
    removed: bool


class CommentRecord(msgspec.Struct, kw_only=True):
    id: str
    post_id: str
    parent_id: str | None
    community_id: str
    community_name: str | None
    channel_id: str
    channel_name: str | None
    created_at: int
    body: str
    edited_at: int | None
    score: int
    ups: int
    downs: int
    removed: bool


class Conversation(msgspec.Struct, kw_only=True):
    id: str
    name: str
    started_by: str
    participants: list[str]  # user ids (people.json has their names)


class DmMessage(msgspec.Struct, kw_only=True):
    id: str
    author_id: str
    created_at: int
    content: str
    edited_at: int | None
    attachments: list[str]
    reply_to: str | None
    thread_id: str | None


class ReactionRecord(msgspec.Struct, kw_only=True):
    target_type: str  # message | post | comment | unknown (the target is not on this node)
    target_id: str
    emoji: str
    created_at: int


def _edited(hlc: int | None) -> int | None:
    return None if hlc is None else wall_ms(hlc)


def _names(place: Place | None) -> tuple[str | None, str | None]:
    return (place.community_name, place.channel_name) if place else (None, None)


async def _keyset(db: Database, sql: str, params: tuple[Any, ...]) -> AsyncIterator[list[Any]]:
    """Pages of ``sql`` (ending in ``AND (hlc, id) > (?, ?) ORDER BY hlc, id LIMIT ?``)."""
    after: tuple[int, str] = (-1, "")
    while True:
        rows = await db.fetchall(sql, (*params, *after, PAGE))
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = (rows[-1]["hlc"], rows[-1]["id"])


class ContentExport:
    def __init__(self, node: Node, user_id: str, sink: ExportSink) -> None:
        self.db = node.db
        self.places: Places | None = node.services.get(PLACES)
        self.user_id = user_id
        self.sink = sink

    async def _places(self, channel_ids: list[str]) -> dict[str, Place]:
        return await self.places.places(channel_ids) if self.places is not None else {}

    async def _count(self, table: str, extra: str = "") -> int:
        return await self.db.fetchval(
            f"SELECT count(*) FROM {table} WHERE author_id = ? AND deleted = 0{extra}", (self.user_id,), 0
        )

    async def run(self) -> None:
        sink = self.sink
        sink.expect(await self._count("content_messages", " AND community_id IS NOT NULL"))
        sink.expect(await self._count("content_posts") + await self._count("content_comments"))
        await self.messages()
        await self.posts()
        await self.comments()
        await self.dms()
        await self.reactions()

    async def messages(self) -> None:
        channels = [
            r["channel_id"]
            for r in await self.db.fetchall(
                "SELECT DISTINCT channel_id FROM content_messages WHERE author_id = ? AND community_id"
                " IS NOT NULL",
                (self.user_id,),
            )
        ]
        places = await self._places(channels)
        async with self.sink.json_array("messages.json") as out:
            for channel in channels:
                community, name = _names(places.get(channel))
                pages = _keyset(
                    self.db,
                    "SELECT id, community_id, channel_id, hlc, created_at, content, original, edited_hlc,"
                    " attachments, reply_to, thread_id, pinned, hidden, purged FROM content_messages"
                    " WHERE author_id = ? AND channel_id = ? AND deleted = 0 AND (hlc, id) > (?, ?)"
                    " ORDER BY hlc, id LIMIT ?",
                    (self.user_id, channel),
                )
                async for rows in pages:
                    await out.extend(
                        MessageRecord(
                            id=r["id"],
                            community_id=r["community_id"],
                            community_name=community,
                            channel_id=channel,
                            channel_name=name,
                            created_at=r["created_at"],
                            content=r["content"],
                            edited_at=_edited(r["edited_hlc"]),
                            original_content=r["original"],
                            attachments=json.loads(r["attachments"]),
                            reply_to=r["reply_to"],
                            thread_id=r["thread_id"],
                            pinned=bool(r["pinned"]),
                            removed=bool(r["hidden"] or r["purged"]),
                        )
                        for r in rows
                    )
        self.sink.describe(
            "messages.json",
            "Every message you wrote in a community's channels that you have not deleted, channel by"
            " channel, oldest first, with the community's and channel's names. `removed` marks a"
            " message a moderator hid; `original_content` is the first version of an edited one.",
        )

    async def _by_community(self, table: str) -> list[str]:
        rows = await self.db.fetchall(
            f"SELECT DISTINCT community_id FROM {table} WHERE author_id = ?", (self.user_id,)
        )
        return [r["community_id"] for r in rows]

    async def posts(self) -> None:
        async with self.sink.json_array("posts.json") as out:
            for community in await self._by_community("content_posts"):
                pages = _keyset(
                    self.db,
                    "SELECT id, community_id, channel_id, hlc, created_at, title, body, url, tags, nsfw,"
                    " spoiler, edited_hlc, attachments, score, ups, downs, comment_count, hidden, purged"
                    " FROM content_posts WHERE author_id = ? AND community_id = ? AND deleted = 0"
                    " AND (hlc, id) > (?, ?) ORDER BY hlc, id LIMIT ?",
                    (self.user_id, community),
                )
                async for rows in pages:
                    places = await self._places([r["channel_id"] for r in rows])
                    await out.extend(self._post(r, places.get(r["channel_id"])) for r in rows)
        self.sink.describe(
            "posts.json", "Every post you wrote in a community's forums that you have not deleted."
        )

    @staticmethod
    def _post(r: Any, place: Place | None) -> PostRecord:
        community_name, channel_name = _names(place)
        return PostRecord(
            id=r["id"],
            community_id=r["community_id"],
            community_name=community_name,
            channel_id=r["channel_id"],
            channel_name=channel_name,
            created_at=r["created_at"],
            title=r["title"],
            body=r["body"],
            url=r["url"],
            tags=json.loads(r["tags"]),
            nsfw=bool(r["nsfw"]),
            spoiler=bool(r["spoiler"]),
            edited_at=_edited(r["edited_hlc"]),
            attachments=json.loads(r["attachments"]),
            score=r["score"],
            ups=r["ups"],
            downs=r["downs"],
            comment_count=r["comment_count"],
            removed=bool(r["hidden"] or r["purged"]),
        )

    async def comments(self) -> None:
        async with self.sink.json_array("comments.json") as out:
            for community in await self._by_community("content_comments"):
                pages = _keyset(
                    self.db,
                    "SELECT id, post_id, parent_id, community_id, channel_id, hlc, created_at, body,"
                    " edited_hlc, score, ups, downs, hidden, purged FROM content_comments"
                    " WHERE author_id = ? AND community_id = ? AND deleted = 0 AND (hlc, id) > (?, ?)"
                    " ORDER BY hlc, id LIMIT ?",
                    (self.user_id, community),
                )
                async for rows in pages:
                    places = await self._places([r["channel_id"] for r in rows])
                    await out.extend(
                        CommentRecord(
                            id=r["id"],
                            post_id=r["post_id"],
                            parent_id=r["parent_id"],
                            community_id=r["community_id"],
                            community_name=_names(places.get(r["channel_id"]))[0],
                            channel_id=r["channel_id"],
                            channel_name=_names(places.get(r["channel_id"]))[1],
                            created_at=r["created_at"],
                            body=r["body"],
                            edited_at=_edited(r["edited_hlc"]),
                            score=r["score"],
                            ups=r["ups"],
                            downs=r["downs"],
                            removed=bool(r["hidden"] or r["purged"]),
                        )
                        for r in rows
                    )
        self.sink.describe(
            "comments.json",
            "Every comment you wrote under posts that you have not deleted (`post_id` and `parent_id`"
            " say where it sits in the thread).",
        )

    async def dms(self) -> None:
        convs = await self.db.fetchall(
            "SELECT c.id, c.name, c.owner_id, (SELECT json_group_array(user_id) FROM content_dm_members"
            "  WHERE channel_id = c.id) AS members FROM content_dm_members m JOIN content_dm_channels c"
            " ON c.id = m.channel_id WHERE m.user_id = ? ORDER BY c.hlc",
            (self.user_id,),
        )
        for conv in convs:
            self.sink.expect(
                await self.db.fetchval(
                    "SELECT count(*) FROM content_messages WHERE channel_id = ? AND deleted = 0",
                    (conv["id"],),
                    0,
                )
            )
        async with self.sink.json_array("dms.json") as out:
            for conv in convs:
                participants = sorted(json.loads(conv["members"]))
                self.sink.mention(conv["owner_id"], *participants)
                head = Conversation(
                    id=conv["id"], name=conv["name"], started_by=conv["owner_id"], participants=participants
                )
                async with out.nested(head, "messages") as messages:
                    await self._dm_messages(conv["id"], messages)
        self.sink.describe(
            "dms.json",
            "Every direct-message conversation you are in, with all of its messages: yours and the"
            " other participants' alike, because a conversation is your own correspondence. Messages"
            " someone deleted are left out (their text was erased).",
        )

    async def _dm_messages(self, channel_id: str, out: JsonArray) -> None:
        # Two walks along the channel's index: the main history, then each thread's, in time order.
        columns = "id, author_id, hlc, created_at, content, edited_hlc, attachments, reply_to, thread_id"
        main = _keyset(
            self.db,
            f"SELECT {columns} FROM content_messages WHERE channel_id = ? AND thread_id IS NULL"
            " AND deleted = 0 AND (hlc, id) > (?, ?) ORDER BY hlc, id LIMIT ?",
            (channel_id,),
        )
        async for rows in main:
            await self._dm_page(rows, out)
        after: tuple[str, int, str] = ("", -1, "")
        while True:
            rows = await self.db.fetchall(
                f"SELECT {columns} FROM content_messages WHERE channel_id = ? AND thread_id IS NOT NULL"
                " AND deleted = 0 AND (thread_id, hlc, id) > (?, ?, ?) ORDER BY thread_id, hlc, id LIMIT ?",
                (channel_id, *after, PAGE),
            )
            await self._dm_page(rows, out)
            if len(rows) < PAGE:
                return
            after = (rows[-1]["thread_id"], rows[-1]["hlc"], rows[-1]["id"])

    async def _dm_page(self, rows: list[Any], out: JsonArray) -> None:
        self.sink.mention(*(r["author_id"] for r in rows))
        await out.extend(
            DmMessage(
                id=r["id"],
                author_id=r["author_id"],
                created_at=r["created_at"],
                content=r["content"],
                edited_at=_edited(r["edited_hlc"]),
                attachments=json.loads(r["attachments"]),
                reply_to=r["reply_to"],
                thread_id=r["thread_id"],
            )
            for r in rows
        )

    async def reactions(self) -> None:
        last = await self.db.fetchval("SELECT coalesce(max(rowid), 0) FROM content_reaction_adds", (), 0)
        async with self.sink.json_array("reactions.json") as out:
            for start in range(0, last, SCAN_WINDOW):
                rows = await self.db.fetchall(
                    "SELECT a.target_id, a.emoji, a.hlc,"
                    " CASE WHEN EXISTS (SELECT 1 FROM content_messages WHERE id = a.target_id) THEN 'message'"
                    "  WHEN EXISTS (SELECT 1 FROM content_posts WHERE id = a.target_id) THEN 'post'"
                    "  WHEN EXISTS (SELECT 1 FROM content_comments WHERE id = a.target_id) THEN 'comment'"
                    "  ELSE 'unknown' END AS target_type"
                    " FROM content_reaction_adds a WHERE a.rowid > ? AND a.rowid <= ? AND a.user_id = ?"
                    " AND NOT EXISTS (SELECT 1 FROM content_reaction_removed r WHERE r.add_id = a.event_id)"
                    " ORDER BY a.rowid",
                    (start, start + SCAN_WINDOW, self.user_id),
                )
                await out.extend(
                    ReactionRecord(
                        target_type=r["target_type"],
                        target_id=r["target_id"],
                        emoji=r["emoji"],
                        created_at=wall_ms(r["hlc"]),
                    )
                    for r in rows
                )
        self.sink.describe("reactions.json", "The reactions you have on messages, posts and comments.")


async def export_member(node: Node, user_id: str, sink: ExportSink) -> None:
    await ContentExport(node, user_id, sink).run()
