"""Posts in forum channels: create, read, edit, delete, view counts, and the feeds (hot, new, top,
controversial; per channel, per community, and the home feed across a user's communities)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import new_id, wall_ms
from cryb_node.db import Connection, Database, Row
from cryb_node.events import Tx
from cryb_node.http.api import Principal
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import Perm

from . import events as e
from . import queries, queries_forum, ranking
from . import schemas as s
from .access import Gate
from .messages import poll_ok
from .reactions import reactions_for
from .wire import PostPage, post_wires

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .messages import Chat
    from .moderation import Moderation


def encode_cursor(key: Any, pid: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([key, pid])).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[float | int, str]:
    try:
        key, pid = msgspec.json.decode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(key, int | float) or not isinstance(pid, str):
            raise ValueError
        return key, pid
    except (ValueError, msgspec.DecodeError, TypeError):
        raise Problem("invalid_query", 400, "not a cursor this feed gave out", field="after") from None


class Posts:
    def __init__(self, node: Node, gate: Gate, chat: Chat, moderation: Moderation) -> None:
        self.node = node
        self.gate = gate
        self.chat = chat
        self.moderation = moderation
        self.pending_views: dict[str, int] = {}

    @property
    def db(self) -> Database:
        return self.node.db

    async def _out(self, r: Row, user_id: str | None) -> s.PostOut:
        """A row of queries_forum.POST with the reader's vote and the reactions."""
        pid, edited = r["id"], r["edited_hlc"]
        votes = await queries.votes_of(self.db, user_id, [pid]) if user_id is not None else {}
        reactions = await reactions_for(self.db, [pid], user_id)
        return s.PostOut(
            id=pid,
            channel_id=r["channel_id"],
            community_id=r["community_id"],
            author_id=r["author_id"],
            title=r["title"],
            body=r["body"],
            body_html=r["body_html"],
            url=r["url"],
            tags=json.loads(r["tags"]),
            nsfw=bool(r["nsfw"]),
            spoiler=bool(r["spoiler"]),
            locked=bool(r["locked"]),
            sticky=bool(r["sticky"]),
            deleted=bool(r["deleted"]),
            removed=bool(r["removed"]),
            ups=r["ups"],
            downs=r["downs"],
            score=r["score"],
            my_vote=votes.get(pid, 0),
            comment_count=r["comment_count"],
            views=r["views"] + self.pending_views.get(pid, 0),
            created_at=r["created_at"],
            edited_at=wall_ms(edited) if edited is not None else None,
            reactions=reactions.get(pid, []),
            attachments=json.loads(r["attachments"]),
        )

    # -- one post -------------------------------------------------------------------------------

    async def create(self, user_id: str, channel_id: str, body: s.PostIn) -> s.PostOut:
        where = await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL | Perm.CREATE_POSTS, kinds=("forum",), what="posting"
        )
        if not body.title.strip():
            raise Problem("invalid_field", 400, "a post needs a title", field="title")
        if body.poll is not None:
            poll_ok(where.dm, body.poll)
        pid = new_id()
        await self.chat.automod(where, user_id, f"{body.title}\n{body.body}\n{body.url or ''}", "post", pid)
        if body.attachments and not where.has(Perm.ATTACH_FILES):
            raise forbidden("attachments need ATTACH_FILES")
        await self.chat.attach(where, user_id, body.attachments)
        payload = e.PostCreate(
            channel_id=channel_id, title=body.title, body=body.body, url=body.url, tags=body.tags,
            nsfw=body.nsfw, spoiler=body.spoiler, attachments=body.attachments, poll=body.poll,
        )  # fmt: skip
        # As on Reddit, a post starts with its author's upvote (score 1): a real vote.set in the same
        # transaction, so the author can withdraw it like any vote and every peer replays it. Only
        # when the author may vote in this channel.
        upvote = where.has(Perm.VOTE)

        def write(tx: Tx) -> None:
            tx.append("post.create", payload, community=where.community_id, author=user_id, target=pid)
            if upvote:
                vote = e.VoteSet(target_type="post", channel_id=channel_id, value=1)
                tx.append("vote.set", vote, community=where.community_id, author=user_id, target=pid)

        await self.node.events.transaction(write)
        return await self.get(user_id, pid, count_view=False)

    async def row(self, pid: str) -> Row:
        row = await queries_forum.post(self.db, pid)
        if row is None:
            raise not_found("post")
        return row

    async def get(self, user_id: str | None, pid: str, *, count_view: bool = True) -> s.PostOut:
        r = await self.row(pid)
        where = await self.gate.require(user_id, r["channel_id"], Perm.VIEW_CHANNEL, write=False)
        if r["removed"] and not where.has(Perm.MANAGE_MESSAGES):
            raise not_found("post")
        if count_view:
            self.pending_views[pid] = self.pending_views.get(pid, 0) + 1
        return await self._out(r, user_id)

    async def flush_views(self) -> None:
        """Write the buffered view counts (node-local analytics, not events) in one transaction."""
        pending, self.pending_views = self.pending_views, {}
        if not pending:
            return

        def job(conn: Connection) -> None:
            queries_forum.add_views(conn, pending)

        await self.db.write(job)

    async def edit(self, user_id: str, pid: str, body: s.PostEditIn) -> s.PostOut:
        r = await self.row(pid)
        where = await self.gate.require(user_id, r["channel_id"], Perm.VIEW_CHANNEL, kinds=("forum",))
        if r["deleted"]:
            raise not_found("post")
        if r["author_id"] != user_id:
            raise forbidden("only the author can edit a post")
        new = e.PostEdit(
            channel_id=r["channel_id"],
            body=r["body"] if body.body is None else body.body,
            url=r["url"] if body.url is None else body.url,
            tags=json.loads(r["tags"]) if body.tags is None else body.tags,
            nsfw=bool(r["nsfw"]) if body.nsfw is None else body.nsfw,
            spoiler=bool(r["spoiler"]) if body.spoiler is None else body.spoiler,
        )
        await self.chat.automod(where, user_id, f"{r['title']}\n{new.body}\n{new.url or ''}", "post", pid)
        await self.node.events.append(
            "post.edit", new, community=where.community_id, author=user_id, target=pid
        )
        return await self.get(user_id, pid, count_view=False)

    async def delete(self, principal: Principal, pid: str, reason: str = "") -> None:
        r = await self.row(pid)
        channel = r["channel_id"]
        where = await self.gate.require(principal.user_id, channel, Perm.VIEW_CHANNEL, kinds=("forum",))
        if r["deleted"]:
            raise not_found("post")
        if r["author_id"] == principal.user_id:
            await self.node.events.append(
                "post.delete", e.Delete(channel_id=channel), community=where.community_id,
                author=principal.user_id, target=pid,
            )  # fmt: skip
            return
        await self.moderation.moderate(principal, "post", pid, s.ModerateIn(action="remove", reason=reason))

    # -- feeds ----------------------------------------------------------------------------------

    async def feed(self, user_id: str | None, channel_ids: list[str], query: s.FeedQuery) -> PostPage:
        """A page in one query with the reader's votes and reactions, encoded from the rows (wire.py)."""
        if not channel_ids:
            return PostPage([], None)
        window = ranking.WINDOWS_S[query.t] if query.sort in ("top", "controversial") else None
        rows = await queries_forum.feed_page(
            self.db, channel_ids, query.sort, user_id=user_id, limit=query.limit,
            since_ms=self.node.clock.time_ms() - window * 1000 if window is not None else None,
            tag=query.tag.strip().lower() if query.tag is not None else None,
            after=decode_cursor(query.after) if query.after is not None else None,
        )  # fmt: skip
        last = rows[-1] if len(rows) == query.limit else None
        nxt = encode_cursor(last["sort_key"], last["id"]) if last is not None else None
        return PostPage(post_wires(rows, self.pending_views), nxt)

    async def channel_feed(self, user_id: str | None, channel_id: str, query: s.FeedQuery) -> PostPage:
        await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL, kinds=("forum",), write=False, what="a feed"
        )
        return await self.feed(user_id, [channel_id], query)

    async def community_feed(self, user_id: str | None, community_id: str, query: s.FeedQuery) -> PostPage:
        perms = self.gate.permissions
        if perms is None:
            raise not_found("community")
        channels = await perms.visible_channels(user_id, community_id)
        return await self.feed(user_id, [c.channel_id for c in channels if c.kind == "forum"], query)

    async def home_feed(self, user_id: str, query: s.FeedQuery) -> PostPage:
        perms = self.gate.permissions
        channels = await perms.visible_channels(user_id) if perms is not None else []
        return await self.feed(
            user_id, [c.channel_id for c in channels if c.kind == "forum" and c.member], query
        )
