"""Threaded comments under posts: create, edit, delete, and the tree fetch with depth and count limits
and "load more" continuations."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import new_id, wall_ms
from cryb_node.db import Row
from cryb_node.events import Tx
from cryb_node.http.api import Principal
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import Perm

from . import events as e
from . import queries, queries_forum, ranking
from . import schemas as s
from .access import Gate, rank
from .reactions import reactions_for
from .targets import locate

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .messages import Chat
    from .moderation import Moderation


@dataclass(slots=True)
class _C:
    id: str
    parent: str | None
    author: str
    body: str
    html: str
    deleted: bool
    removed: bool
    ups: int
    downs: int
    score: int
    hlc: int
    created_at: int
    edited_hlc: int | None
    post: str
    depth: int = 0


def sort_key(sort: str, c: _C) -> tuple[Any, ...]:
    """Ascending key: the first sibling shown has the smallest key."""
    if sort == "new":
        return (-c.hlc, c.id)
    if sort == "top":
        return (-c.score, -c.hlc, c.id)
    if sort == "controversial":
        return (-ranking.controversy(c.ups, c.downs), -c.hlc, c.id)
    return (-ranking.best(c.ups, c.downs), -c.hlc, c.id)


def _enc(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def _dec(raw: str) -> tuple[Any, ...]:
    try:
        key = msgspec.json.decode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(key, list) or not key or not isinstance(key[-1], str):
            raise ValueError
        return tuple(key)
    except (ValueError, msgspec.DecodeError, TypeError):
        raise Problem("invalid_query", 400, "not a cursor this thread gave out", field="after") from None


class Comments:
    def __init__(self, node: Node, gate: Gate, chat: Chat, moderation: Moderation) -> None:
        self.node = node
        self.gate = gate
        self.chat = chat
        self.moderation = moderation

    async def create(self, principal: Principal, post_id: str, body: s.CommentIn) -> s.CommentOut:
        user_id = principal.user_id
        post = await locate(self.node.db, "post", post_id)
        where = await self.gate.require(
            user_id,
            post.channel_id,
            Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES,
            kinds=("forum",),
            what="commenting",
        )
        is_mod = rank(principal, where) > 0
        if post.removed and not is_mod:
            raise not_found("post")
        if post.locked and not is_mod:
            raise forbidden("this post is locked")
        if not body.body.strip():
            raise Problem("invalid_field", 400, "a comment needs text", field="body")
        cid = new_id()
        await self.chat.automod(where, user_id, body.body, "comment", cid)
        payload = e.CommentCreate(
            channel_id=post.channel_id, post_id=post_id, parent_id=body.parent_id, body=body.body
        )

        def write(tx: Tx) -> None:
            if body.parent_id is not None:
                row = queries_forum.reply_parent(tx.conn, body.parent_id)
                if row is None or row["post_id"] != post_id:
                    raise Problem("invalid_field", 400, "no such comment on this post", field="parent_id")
                if row["gone"]:
                    raise Problem("invalid_field", 400, "that comment was deleted", field="parent_id")
            tx.append("comment.create", payload, community=post.community_id, author=user_id, target=cid)

        await self.node.events.transaction(write)
        return await self.one(user_id, cid)

    async def one(self, user_id: str | None, cid: str) -> s.CommentOut:
        t = await locate(self.node.db, "comment", cid)
        where = await self.gate.require(user_id, t.channel_id, Perm.VIEW_CHANNEL, write=False)
        row = await queries_forum.comment(self.node.db, cid)
        assert row is not None  # located above
        c = _comments([row])[0]
        c.depth = await queries_forum.comment_depth(self.node.db, cid)
        return (await self._outs([c], user_id, where.has(Perm.MANAGE_MESSAGES)))[c.id]

    async def edit(self, user_id: str, cid: str, body: s.CommentEditIn) -> s.CommentOut:
        t = await locate(self.node.db, "comment", cid)
        where = await self.gate.require(user_id, t.channel_id, Perm.VIEW_CHANNEL, kinds=("forum",))
        if t.author_id != user_id:
            raise forbidden("only the author can edit a comment")
        if not body.body.strip():
            raise Problem("invalid_field", 400, "a comment needs text", field="body")
        await self.chat.automod(where, user_id, body.body, "comment", cid)
        payload = e.CommentEdit(channel_id=t.channel_id, post_id=t.post_id or "", body=body.body)
        await self.node.events.append(
            "comment.edit", payload, community=t.community_id, author=user_id, target=cid
        )
        return await self.one(user_id, cid)

    async def delete(self, principal: Principal, cid: str, reason: str = "") -> None:
        t = await locate(self.node.db, "comment", cid)
        await self.gate.require(principal.user_id, t.channel_id, Perm.VIEW_CHANNEL, kinds=("forum",))
        if t.author_id == principal.user_id:
            # the comment's place travels in the delete: the create's payload that held it is erased
            parent = await queries_forum.comment_parent(self.node.db, cid)
            payload = e.Delete(channel_id=t.channel_id, post_id=t.post_id, parent_id=parent)
            await self.node.events.append(
                "comment.delete", payload, community=t.community_id, author=principal.user_id, target=cid
            )
            return
        await self.moderation.moderate(
            principal, "comment", cid, s.ModerateIn(action="remove", reason=reason)
        )

    # -- the tree -------------------------------------------------------------------------------

    async def tree(self, user_id: str | None, post_id: str, q: s.CommentQuery) -> s.CommentTree:
        post = await locate(self.node.db, "post", post_id, deleted_ok=True)
        where = await self.gate.require(
            user_id, post.channel_id, Perm.VIEW_CHANNEL, kinds=("forum",), write=False
        )
        moderator = where.has(Perm.MANAGE_MESSAGES)
        if post.removed and not moderator:
            raise not_found("post")
        all_rows = _comments(await queries_forum.comments_of(self.node.db, post_id))
        by_id = {c.id: c for c in all_rows}
        children: dict[str | None, list[_C]] = {}
        for c in all_rows:
            children.setdefault(c.parent if c.parent in by_id else None, []).append(c)
        for c in all_rows:  # absolute depth, walking up (chains can be deeper than the recursion limit)
            d, p = 0, c.parent
            while p is not None and p in by_id:
                d, p = d + 1, by_id[p].parent
            c.depth = d
        if q.parent is not None and q.parent not in by_id:
            raise Problem("invalid_query", 400, "no such comment on this post", field="parent")
        after = _dec(q.after) if q.after is not None else None
        for sibs in children.values():
            sibs.sort(key=lambda c: sort_key(q.sort, c))
        budget = q.limit
        shown: list[_C] = []

        def level(parent: str | None, rel_depth: int, after_key: tuple[Any, ...] | None) -> list[Any]:
            nonlocal budget
            sibs = children.get(parent, [])
            if after_key is not None:
                sibs = [c for c in sibs if sort_key(q.sort, c) > after_key]
            out: list[Any] = []
            for i, c in enumerate(sibs):
                if budget <= 0:
                    prev = (
                        _enc(sort_key(q.sort, sibs[i - 1])) if i else (_enc(after_key) if after_key else None)
                    )
                    out.append(s.MoreOut(parent_id=parent, after=prev, count=len(sibs) - i))
                    break
                budget -= 1
                shown.append(c)
                kids = children.get(c.id)
                replies: list[Any] = []
                if kids:
                    if rel_depth + 1 >= q.depth:
                        replies = [s.MoreOut(parent_id=c.id, after=None, count=len(kids))]
                    else:
                        replies = level(c.id, rel_depth + 1, None)
                out.append((c, replies))
            return out

        shaped = level(q.parent, 0, after)
        outs = await self._outs(shown, user_id, moderator)

        def build(items: list[Any]) -> list[s.CommentOut | s.MoreOut]:
            result: list[s.CommentOut | s.MoreOut] = []
            for item in items:
                if isinstance(item, s.MoreOut):
                    result.append(item)
                else:
                    c, replies = item
                    node = outs[c.id]
                    node.replies = build(replies)
                    result.append(node)
            return result

        return s.CommentTree(post_id, build(shaped))

    async def _outs(self, cs: list[_C], user_id: str | None, moderator: bool) -> dict[str, s.CommentOut]:
        ids = [c.id for c in cs]
        votes: dict[str, int] = {}
        if user_id is not None and ids:
            for i in range(0, len(ids), 500):
                votes.update(await queries.votes_of(self.node.db, user_id, ids[i : i + 500]))
        reactions: dict[str, list[s.ReactionCount]] = {}
        for i in range(0, len(ids), 500):
            reactions.update(await reactions_for(self.node.db, ids[i : i + 500], user_id))
        out = {}
        for c in cs:
            hide = c.deleted or (c.removed and not moderator)
            out[c.id] = s.CommentOut(
                id=c.id, post_id=c.post, parent_id=c.parent, author_id=None if c.deleted else c.author,
                body="" if hide else c.body, body_html="" if hide else c.html, deleted=c.deleted,
                removed=c.removed, ups=c.ups, downs=c.downs, score=c.score, my_vote=votes.get(c.id, 0),
                depth=c.depth, created_at=c.created_at,
                edited_at=wall_ms(c.edited_hlc) if c.edited_hlc is not None else None,
                reactions=reactions.get(c.id, []),
            )  # fmt: skip
        return out


def _comments(rows: list[Row]) -> list[_C]:
    """Rows of queries_forum.COMMENT (a whole thread's: columns found by name once, see
    queries.positions)."""
    if not rows:
        return []
    c = queries.positions(rows[0])
    id_, parent, author, body, html = c["id"], c["parent_id"], c["author_id"], c["body"], c["body_html"]
    deleted, removed, ups, downs, score = c["deleted"], c["removed"], c["ups"], c["downs"], c["score"]
    hlc, created, edited, post = c["hlc"], c["created_at"], c["edited_hlc"], c["post_id"]
    return [
        _C(r[id_], r[parent], r[author], r[body], r[html], bool(r[deleted]), bool(r[removed]), r[ups],
           r[downs], r[score], r[hlc], r[created], r[edited], r[post])
        for r in rows
    ]  # fmt: skip
