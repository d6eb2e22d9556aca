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
from . import schemas as s
from .access import Gate
from .render import custom_emoji, is_unicode_emoji
from .targets import locate

if TYPE_CHECKING:
    from cryb_node.node import Node

MAX_EMOJI_PER_TARGET = 20

_LIVE = "NOT EXISTS (SELECT 1 FROM content_reaction_removed r WHERE r.add_id = a.event_id)"


async def reactions_for(
    db: Database, ids: Iterable[str], user_id: str | None
) -> dict[str, list[s.ReactionCount]]:
    """Reaction counts per target, in the order each emoji was first used, with the caller's own."""
    ids = list(ids)
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await db.fetchall(
        f"SELECT target_id, emoji, count FROM content_reaction_counts WHERE target_id IN ({marks})"
        " ORDER BY first_hlc, emoji",
        ids,
    )
    if not rows:
        return {}
    mine: set[tuple[str, str]] = set()
    if user_id is not None:
        got = await db.fetchall(
            f"SELECT target_id, emoji FROM content_reaction_adds a WHERE target_id IN ({marks}) AND"
            " user_id = ?"
            f" AND {_LIVE}",
            (*ids, user_id),
        )
        mine = {(r[0], r[1]) for r in got}
    out: dict[str, list[s.ReactionCount]] = {}
    for target, emoji, count in rows:
        out.setdefault(target, []).append(s.ReactionCount(emoji, count, (target, emoji) in mine))
    return out


def _chip(conn: Connection, target_id: str, emoji: str) -> str:
    """The reaction key already counted on the target for the same custom emoji (reacted to before
    a rename, under its old name), so one emoji stays one chip; else ``emoji`` itself."""
    custom = custom_emoji(emoji)
    if custom is None:
        return emoji
    row = conn.execute(
        "SELECT emoji FROM content_reaction_counts WHERE target_id = ? AND emoji GLOB ?"
        " ORDER BY first_hlc LIMIT 1",
        (target_id, f"*:{custom[1]}"),
    ).fetchone()
    return row[0] if row else emoji


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
            row = await self.node.db.fetchone(
                "SELECT name FROM content_emojis WHERE id = ? AND community_id = ? AND deleted = 0",
                (custom[1], community_id),
            )
            if row is not None:
                return f"{row[0]}:{custom[1]}"
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
            live = [
                r[0]
                for r in tx.conn.execute(
                    f"SELECT event_id FROM content_reaction_adds a WHERE target_id = ? AND user_id ="
                    " ? AND emoji = ?"
                    f" AND {_LIVE}",
                    (target_id, user_id, emoji),
                )
            ]
            if on:
                if live:
                    return  # already reacted: nothing to record
                used = tx.conn.execute(
                    "SELECT count(*), sum(emoji = ?) FROM content_reaction_counts WHERE target_id = ?",
                    (emoji, target_id),
                ).fetchone()
                if not used[1] and used[0] >= MAX_EMOJI_PER_TARGET:
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
        rows = await self.node.db.fetchall(
            f"SELECT DISTINCT user_id FROM content_reaction_adds a WHERE target_id = ? AND emoji = ?"
            f" AND {_LIVE}"
            " ORDER BY user_id LIMIT 1000",
            (target_id, emoji),
        )
        return s.ReactionUsers(emoji, [r[0] for r in rows])

    # -- votes ----------------------------------------------------------------------------------

    async def vote(
        self, user_id: str, target_type: Literal["post", "comment"], target_id: str, value: Literal[-1, 0, 1]
    ) -> s.VoteOut:
        t = await locate(self.node.db, target_type, target_id)
        where = await self.gate.require(user_id, t.channel_id, Perm.VIEW_CHANNEL | Perm.VOTE, what="voting")
        if t.removed and not where.has(Perm.MANAGE_MESSAGES):
            raise not_found(target_type)
        table = "content_posts" if target_type == "post" else "content_comments"

        def write(tx: Tx) -> s.VoteOut:
            cur = tx.conn.execute(
                "SELECT value FROM content_votes WHERE target_id = ? AND user_id = ?", (target_id, user_id)
            ).fetchone()
            if (cur[0] if cur else 0) != value:
                payload = e.VoteSet(target_type=target_type, channel_id=t.channel_id, value=value)
                tx.append("vote.set", payload, community=t.community_id, author=user_id, target=target_id)
            ups, downs = tx.conn.execute(
                f"SELECT ups, downs FROM {table} WHERE id = ?", (target_id,)
            ).fetchone()
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
            taken = tx.conn.execute(
                "SELECT 1 FROM content_emojis WHERE community_id = ? AND name = ? AND deleted = 0",
                (community_id, body.name),
            ).fetchone()
            if taken:
                raise Problem("name_taken", 409, "this community has an emoji of that name", field="name")
            payload = e.EmojiCreate(name=body.name, media_id=body.media_id)
            tx.append("emoji.create", payload, community=community_id, author=user_id, target=eid)

        await self.node.events.transaction(write)
        return s.EmojiOut(eid, community_id, body.name, body.media_id)

    async def emojis(self, community_id: str) -> s.EmojiList:
        rows = await self.node.db.fetchall(
            "SELECT id, community_id, name, media_id FROM content_emojis WHERE community_id = ? AND"
            " deleted = 0"
            " ORDER BY name",
            (community_id,),
        )
        return s.EmojiList([s.EmojiOut(*r) for r in rows])

    async def rename_emoji(
        self, user_id: str, community_id: str, emoji_id: str, body: s.EmojiPatch
    ) -> s.EmojiOut:
        await self._manage(user_id, community_id)

        def write(tx: Tx) -> s.EmojiOut:
            row = tx.conn.execute(
                "SELECT name, media_id FROM content_emojis WHERE id = ? AND community_id = ? AND deleted = 0",
                (emoji_id, community_id),
            ).fetchone()
            if row is None:
                raise not_found("emoji")
            if row[0] != body.name:
                taken = tx.conn.execute(
                    "SELECT 1 FROM content_emojis WHERE community_id = ? AND name = ? AND deleted = 0",
                    (community_id, body.name),
                ).fetchone()
                if taken:
                    raise Problem("name_taken", 409, "this community has an emoji of that name", field="name")
                payload = e.EmojiUpdate(name=body.name)
                tx.append("emoji.update", payload, community=community_id, author=user_id, target=emoji_id)
            return s.EmojiOut(emoji_id, community_id, body.name, row[1])

        return await self.node.events.transaction(write)

    async def delete_emoji(self, user_id: str, community_id: str, emoji_id: str) -> None:
        await self._manage(user_id, community_id)
        row = await self.node.db.fetchone(
            "SELECT 1 FROM content_emojis WHERE id = ? AND community_id = ? AND deleted = 0",
            (emoji_id, community_id),
        )
        if row is None:
            raise not_found("emoji")
        await self.node.events.append(
            "emoji.delete", e.Empty(), community=community_id, author=user_id, target=emoji_id
        )
