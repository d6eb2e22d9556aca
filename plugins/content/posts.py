"""Posts in forum channels: create, read, edit, delete, view counts, and the feeds (hot, new, top,
controversial; per channel, per community, and the home feed across a user's communities)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import new_id, wall_ms
from cryb_node.db import Database
from cryb_node.events import Tx
from cryb_node.http.api import Principal
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import Perm

from . import events as e
from . import ranking
from . import schemas as s
from .access import Gate
from .messages import poll_ok
from .reactions import reactions_for
from .wire import POST_COLUMNS, PostPage, post_wire

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .messages import Chat
    from .moderation import Moderation

COLUMNS = (
    "p.id, p.channel_id, p.community_id, p.author_id, p.title, p.body, p.body_html, p.url, p.tags, p.nsfw,"
    " p.spoiler, p.locked, p.sticky, p.deleted, p.hidden + p.purged, p.ups, p.downs, p.score,"
    " p.comment_count,"
    " p.created_at, p.edited_hlc, coalesce(v.views, 0), p.attachments"
)
FROM = "FROM content_posts p LEFT JOIN content_views v ON v.post_id = p.id"
VISIBLE = "p.deleted = 0 AND p.hidden = 0 AND p.purged = 0"
# sort -> the column feeds order by (descending, then id descending)
SORT_KEY = {"hot": "p.hot", "new": "p.hlc", "top": "p.score", "controversial": "p.controversy"}


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

    async def _outs(self, rows: list[Any], user_id: str | None) -> list[s.PostOut]:
        ids = [r[0] for r in rows]
        votes: dict[str, int] = {}
        if user_id is not None and ids:
            marks = ",".join("?" * len(ids))
            got = await self.db.fetchall(
                f"SELECT target_id, value FROM content_votes WHERE user_id = ? AND target_id IN ({marks})",
                (user_id, *ids),
            )
            votes = {r[0]: r[1] for r in got}
        reactions = await reactions_for(self.db, ids, user_id)
        return [
            s.PostOut(
                id=r[0],
                channel_id=r[1],
                community_id=r[2],
                author_id=r[3],
                title=r[4],
                body=r[5],
                body_html=r[6],
                url=r[7],
                tags=json.loads(r[8]),
                nsfw=bool(r[9]),
                spoiler=bool(r[10]),
                locked=bool(r[11]),
                sticky=bool(r[12]),
                deleted=bool(r[13]),
                removed=bool(r[14]),
                ups=r[15],
                downs=r[16],
                score=r[17],
                my_vote=votes.get(r[0], 0),
                comment_count=r[18],
                views=r[21] + self.pending_views.get(r[0], 0),
                created_at=r[19],
                edited_at=wall_ms(r[20]) if r[20] is not None else None,
                reactions=reactions.get(r[0], []),
                attachments=json.loads(r[22]),
            )
            for r in rows
        ]

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

    async def row(self, pid: str) -> Any:
        row = await self.db.fetchone(f"SELECT {COLUMNS} {FROM} WHERE p.id = ?", (pid,))
        if row is None:
            raise not_found("post")
        return row

    async def get(self, user_id: str | None, pid: str, *, count_view: bool = True) -> s.PostOut:
        r = await self.row(pid)
        where = await self.gate.require(user_id, r[1], Perm.VIEW_CHANNEL, write=False)
        if r[14] and not where.has(Perm.MANAGE_MESSAGES):
            raise not_found("post")
        if count_view:
            self.pending_views[pid] = self.pending_views.get(pid, 0) + 1
        return (await self._outs([r], user_id))[0]

    async def flush_views(self) -> None:
        """Write the buffered view counts (node-local analytics, not events) in one transaction."""
        pending, self.pending_views = self.pending_views, {}
        if not pending:
            return

        def job(conn: Any) -> None:
            conn.executemany(
                "INSERT INTO content_views (post_id, views) VALUES (?, ?)"
                " ON CONFLICT (post_id) DO UPDATE SET views = views + excluded.views",
                list(pending.items()),
            )

        await self.db.write(job)

    async def edit(self, user_id: str, pid: str, body: s.PostEditIn) -> s.PostOut:
        r = await self.row(pid)
        where = await self.gate.require(user_id, r[1], Perm.VIEW_CHANNEL, kinds=("forum",))
        if r[13]:
            raise not_found("post")
        if r[3] != user_id:
            raise forbidden("only the author can edit a post")
        new = e.PostEdit(
            channel_id=r[1],
            body=r[5] if body.body is None else body.body,
            url=r[7] if body.url is None else body.url,
            tags=json.loads(r[8]) if body.tags is None else body.tags,
            nsfw=bool(r[9]) if body.nsfw is None else body.nsfw,
            spoiler=bool(r[10]) if body.spoiler is None else body.spoiler,
        )
        await self.chat.automod(where, user_id, f"{r[4]}\n{new.body}\n{new.url or ''}", "post", pid)
        await self.node.events.append(
            "post.edit", new, community=where.community_id, author=user_id, target=pid
        )
        return await self.get(user_id, pid, count_view=False)

    async def delete(self, principal: Principal, pid: str, reason: str = "") -> None:
        r = await self.row(pid)
        where = await self.gate.require(principal.user_id, r[1], Perm.VIEW_CHANNEL, kinds=("forum",))
        if r[13]:
            raise not_found("post")
        if r[3] == principal.user_id:
            await self.node.events.append(
                "post.delete", e.Delete(channel_id=r[1]), community=where.community_id,
                author=principal.user_id, target=pid,
            )  # fmt: skip
            return
        await self.moderation.moderate(principal, "post", pid, s.ModerateIn(action="remove", reason=reason))

    # -- feeds ----------------------------------------------------------------------------------

    async def feed(self, user_id: str | None, channel_ids: list[str], q: s.FeedQuery) -> PostPage:
        """A page in one query with the reader's votes and reactions, encoded from the rows (wire.py)."""
        if not channel_ids:
            return PostPage([], None)
        key = SORT_KEY[q.sort]
        args: dict[str, Any] = {f"c{i}": c for i, c in enumerate(channel_ids)}
        marks = ",".join(f":{k}" for k in args)
        sql = f"SELECT {POST_COLUMNS}, {key} {FROM} WHERE p.channel_id IN ({marks}) AND {VISIBLE}"
        args.update(user=user_id, limit=q.limit)
        window = ranking.WINDOWS_S[q.t] if q.sort in ("top", "controversial") else None
        if window is not None:
            sql += " AND p.created_at >= :since"
            args["since"] = self.node.clock.time_ms() - window * 1000
        if q.tag is not None:
            sql += " AND EXISTS (SELECT 1 FROM json_each(p.tags) t WHERE lower(t.value) = :tag)"
            args["tag"] = q.tag.strip().lower()
        if q.after is not None:
            args["after_key"], args["after_id"] = decode_cursor(q.after)
            sql += f" AND ({key}, p.id) < (:after_key, :after_id)"
        sql += f" ORDER BY {key} DESC, p.id DESC LIMIT :limit"
        rows = await self.db.fetchall_inline(sql, args)
        nxt = encode_cursor(rows[-1][-1], rows[-1][0]) if len(rows) == q.limit else None
        return PostPage([post_wire(r, self.pending_views) for r in rows], nxt)

    async def channel_feed(self, user_id: str | None, channel_id: str, q: s.FeedQuery) -> PostPage:
        await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL, kinds=("forum",), write=False, what="a feed"
        )
        return await self.feed(user_id, [channel_id], q)

    async def community_feed(self, user_id: str | None, community_id: str, q: s.FeedQuery) -> PostPage:
        perms = self.gate.permissions
        if perms is None:
            raise not_found("community")
        channels = await perms.visible_channels(user_id, community_id)
        return await self.feed(user_id, [c.channel_id for c in channels if c.kind == "forum"], q)

    async def home_feed(self, user_id: str, q: s.FeedQuery) -> PostPage:
        perms = self.gate.permissions
        channels = await perms.visible_channels(user_id) if perms is not None else []
        return await self.feed(user_id, [c.channel_id for c in channels if c.kind == "forum" and c.member], q)
