"""Reactions (add-wins sets of unicode or community custom emoji), votes, and custom emoji."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from cryb_node.clock import new_id
from cryb_node.db import Connection, Database
from cryb_node.events import Tx
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import MEDIA_STORE, Perm

from . import events as e
from . import queries
from . import schemas as s
from .access import Gate
from .render import custom_emoji, is_unicode_emoji
from .targets import locate

if TYPE_CHECKING:
    from cryb_node.node import Node

MAX_EMOJI_PER_TARGET = 20


async def reactions_for(
    db: Database, ids: Iterable[str], user_id: str | None
) -> dict[str, list[s.ReactionCount]]:
    """Reaction counts per target, in the order each emoji was first used, with the caller's own."""
    ids = list(ids)
    if not ids:
        return {}
    rows = await queries.reaction_counts(db, ids)
    if not rows:
        return {}
    mine = await queries.own_reactions(db, ids, user_id) if user_id is not None else set()
    out: dict[str, list[s.ReactionCount]] = {}
    for r in rows:
        target, emoji = r["target_id"], r["emoji"]
        out.setdefault(target, []).append(s.ReactionCount(emoji, r["count"], (target, emoji) in mine))
    return out


def _chip(conn: Connection, target_id: str, emoji: str) -> str:
    """The reaction key already counted on the target for the same custom emoji (reacted to before
    a rename, under its old name), so one emoji stays one chip; else ``emoji`` itself."""
    custom = custom_emoji(emoji)
    if custom is None:
        return emoji
    _, emoji_id = custom
    return queries.chip_of(conn, target_id, emoji_id) or emoji


class Reactions:
    def __init__(self, node: Node, gate: Gate) -> None:
        self.node = node
        self.gate = gate

    async def _emoji_ok(self, community_id: str | None, emoji: str) -> str:
        """The emoji as a reaction names it: a community's custom emoji is known by its id (a
        name from before a rename still finds it) and named by its current name."""
        if is_unicode_emoji(emoji):
            return emoji
        custom = custom_emoji(emoji)
        if custom is not None and community_id is not None:
            _, emoji_id = custom
            name = await queries.emoji_name(self.node.db, emoji_id, community_id)
            if name is not None:
                return f"{name}:{emoji_id}"
        raise Problem(
            "unknown_emoji", 400, "not a unicode emoji nor one of this community's emoji", field="emoji"
        )

    async def react(
        self, user_id: str, target_type: e.TargetType, target_id: str, emoji: str, on: bool
    ) -> None:
        t = await locate(self.node.db, target_type, target_id)
        need = Perm.VIEW_CHANNEL | Perm.READ_HISTORY | Perm.ADD_REACTIONS if on else Perm.VIEW_CHANNEL
        where = await self.gate.require(user_id, t.channel_id, need, what="reacting")
        if t.removed and not where.has(Perm.MANAGE_MESSAGES):
            raise not_found(target_type)
        if on:
            emoji = await self._emoji_ok(t.community_id, emoji)

        def write(tx: Tx) -> None:
            nonlocal emoji
            emoji = _chip(tx.conn, target_id, emoji)
            live = queries.live_reactions(tx.conn, target_id, user_id, emoji)
            if on:
                if live:
                    return  # already reacted: nothing to record
                kinds, used = queries.emoji_use(tx.conn, target_id, emoji)
                if not used and kinds >= MAX_EMOJI_PER_TARGET:
                    raise Problem(
                        "too_many_reactions",
                        400,
                        "this has as many different emoji as it can take",
                        field="emoji",
                    )
                payload: e.ReactionAdd | e.ReactionRemove = e.ReactionAdd(
                    target_type=target_type, channel_id=t.channel_id, emoji=emoji
                )
                tx.append("reaction.add", payload, community=t.community_id, author=user_id, target=target_id)
            elif live:
                payload = e.ReactionRemove(
                    target_type=target_type, channel_id=t.channel_id, emoji=emoji, adds=live
                )
                tx.append(
                    "reaction.remove", payload, community=t.community_id, author=user_id, target=target_id
                )

        await self.node.events.transaction(write)

    async def users(
        self, user_id: str | None, target_type: str, target_id: str, emoji: str
    ) -> s.ReactionUsers:
        t = await locate(self.node.db, target_type, target_id)
        await self.gate.require(user_id, t.channel_id, Perm.VIEW_CHANNEL | Perm.READ_HISTORY, write=False)
        return s.ReactionUsers(emoji, await queries.reactors(self.node.db, target_id, emoji))

    # -- votes ----------------------------------------------------------------------------------

    async def vote(
        self, user_id: str, target_type: Literal["post", "comment"], target_id: str, value: Literal[-1, 0, 1]
    ) -> s.VoteOut:
        t = await locate(self.node.db, target_type, target_id)
        where = await self.gate.require(user_id, t.channel_id, Perm.VIEW_CHANNEL | Perm.VOTE, what="voting")
        if t.removed and not where.has(Perm.MANAGE_MESSAGES):
            raise not_found(target_type)

        def write(tx: Tx) -> s.VoteOut:
            if queries.vote_of(tx.conn, target_id, user_id) != value:
                payload = e.VoteSet(target_type=target_type, channel_id=t.channel_id, value=value)
                tx.append("vote.set", payload, community=t.community_id, author=user_id, target=target_id)
            now = queries.tally(tx.conn, target_type, target_id)
            ups, downs = now["ups"], now["downs"]
            return s.VoteOut(target_id, value, ups, downs, ups - downs)

        return await self.node.events.transaction(write)

    # -- custom emoji ---------------------------------------------------------------------------

    async def _manage(self, user_id: str, community_id: str) -> None:
        perms = self.gate.permissions
        got = await perms.community(user_id, community_id) if perms is not None else 0
        if not got & (Perm.MANAGE_COMMUNITY | Perm.ADMINISTRATOR):
            raise forbidden("custom emoji need MANAGE_COMMUNITY")

    async def add_emoji(self, user_id: str, community_id: str, body: s.EmojiIn) -> s.EmojiOut:
        await self._manage(user_id, community_id)
        # The image is the manager's own upload, attached publicly: every viewer of a reaction
        # fetches it, and the cleanup job must not take it.
        store = self.node.services.get(MEDIA_STORE)
        ref = await store.attach(body.media_id, user_id, None) if store is not None else None
        if ref is None or ref.kind != "image":
            raise Problem("invalid_field", 400, "an emoji is an image you uploaded", field="media_id")
        eid = new_id()

        def write(tx: Tx) -> None:
            if queries.emoji_name_taken(tx.conn, community_id, body.name):
                raise Problem("name_taken", 409, "this community has an emoji of that name", field="name")
            payload = e.EmojiCreate(name=body.name, media_id=body.media_id)
            tx.append("emoji.create", payload, community=community_id, author=user_id, target=eid)

        await self.node.events.transaction(write)
        return s.EmojiOut(eid, community_id, body.name, body.media_id)

    async def emojis(self, community_id: str) -> s.EmojiList:
        rows = await queries.emojis(self.node.db, community_id)
        return s.EmojiList([s.EmojiOut(r["id"], r["community_id"], r["name"], r["media_id"]) for r in rows])

    async def rename_emoji(
        self, user_id: str, community_id: str, emoji_id: str, body: s.EmojiPatch
    ) -> s.EmojiOut:
        await self._manage(user_id, community_id)

        def write(tx: Tx) -> s.EmojiOut:
            row = queries.live_emoji(tx.conn, emoji_id, community_id)
            if row is None:
                raise not_found("emoji")
            if row["name"] != body.name:
                if queries.emoji_name_taken(tx.conn, community_id, body.name):
                    raise Problem("name_taken", 409, "this community has an emoji of that name", field="name")
                payload = e.EmojiUpdate(name=body.name)
                tx.append("emoji.update", payload, community=community_id, author=user_id, target=emoji_id)
            return s.EmojiOut(emoji_id, community_id, body.name, row["media_id"])

        return await self.node.events.transaction(write)

    async def delete_emoji(self, user_id: str, community_id: str, emoji_id: str) -> None:
        await self._manage(user_id, community_id)
        if not await queries.emoji_exists(self.node.db, emoji_id, community_id):
            raise not_found("emoji")
        await self.node.events.append(
            "emoji.delete", e.Empty(), community=community_id, author=user_id, target=emoji_id
        )
