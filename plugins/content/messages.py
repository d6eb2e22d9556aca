"""Chat: send, page through, edit and delete messages in text/announcement channels and DMs, with
replies, mentions, attachments (media ids), threads, slow mode and automod."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import new_id, wall_ms
from cryb_node.db import Database, Row
from cryb_node.events import Tx
from cryb_node.http.api import Principal
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.services import AUTOMOD, MEDIA_STORE, RELATIONSHIPS, Perm

from . import events as e
from . import queries_chat
from . import schemas as s
from .access import CHAT_KINDS, Gate, Where
from .projections import EDIT_DECODERS
from .reactions import reactions_for
from .render import is_unicode_emoji, mentions
from .wire import MessagePage, message_wires

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .moderation import Moderation

NONCE_TTL_S = 86_400  # retries come within minutes to hours; a day of an author's nonces is kept


def message_out(r: Row, reactions: list[s.ReactionCount] | None = None) -> s.MessageOut:
    """A row of queries_chat.MESSAGE as the API shows it."""
    edited, integration, interaction = r["edited_hlc"], r["integration"], r["interaction"]
    return s.MessageOut(
        id=r["id"],
        channel_id=r["channel_id"],
        community_id=r["community_id"],
        author_id=r["author_id"],
        content=r["content"],
        attachments=json.loads(r["attachments"]),
        reply_to=r["reply_to"],
        thread_id=r["thread_id"],
        mentions=json.loads(r["mentions"]),
        mention_roles=json.loads(r["mention_roles"]),
        mention_everyone=bool(r["mention_everyone"]),
        created_at=r["created_at"],
        edited_at=wall_ms(edited) if edited is not None else None,
        pinned=bool(r["pinned"]),
        deleted=bool(r["deleted"]),
        removed=bool(r["removed"]),
        thread_count=r["thread_count"],
        reactions=reactions or [],
        integration=msgspec.json.decode(integration, type=s.IntegrationOut) if integration else None,
        interaction=msgspec.json.decode(interaction, type=s.InteractionOut) if interaction else None,
    )


def require_text(content: str, attachments: list[str], field: str = "content") -> None:
    if not content.strip() and not attachments:
        raise Problem("invalid_field", 400, "a message needs text or an attachment", field=field)


def poll_ok(dm: bool, poll: e.Poll) -> None:
    """What the payload's types cannot say about a poll: where it may be, its answers' emoji."""
    if dm:
        raise Problem("invalid_field", 400, "polls are for community channels", field="poll")
    for i, answer in enumerate(poll.answers):
        if not answer.text.strip():
            raise Problem("invalid_field", 400, "an answer needs text", field=f"poll.answers[{i}].text")
        if answer.emoji is not None and not is_unicode_emoji(answer.emoji):
            raise Problem("unknown_emoji", 400, "not a unicode emoji", field=f"poll.answers[{i}].emoji")
    if not poll.question.strip():
        raise Problem("invalid_field", 400, "a poll needs a question", field="poll.question")


class Chat:
    def __init__(self, node: Node, gate: Gate, moderation: Moderation) -> None:
        self.node = node
        self.gate = gate
        self.moderation = moderation

    @property
    def db(self) -> Database:
        return self.node.db

    async def automod(self, where: Where, user_id: str, text: str, target_type: str, target_id: str) -> None:
        """Refuse text that the community's automod blocks; flagged text goes on (a report is filed)."""
        mod = self.node.services.get(AUTOMOD)
        if mod is None or where.community_id is None:
            return
        verdict = await mod.check(
            where.community_id, user_id, text,
            channel_id=where.channel_id, target_type=target_type, target_id=target_id,
        )  # fmt: skip
        if verdict.action == "block":
            raise Problem("automod_blocked", 400, f"blocked by automod: {verdict.reason}", field="content")
        if verdict.action == "timeout":
            raise Problem(
                "automod_timeout", 403, f"blocked by automod, and you are timed out: {verdict.reason}"
            )

    async def attach(
        self, where: Where, user_id: str, media_ids: list[str], kept: frozenset[str] = frozenset()
    ) -> None:
        """Claim the author's uploads for this channel (media then serves them to its viewers only).

        ``kept``: ids already attached to the message being edited (no need to claim them again).
        """
        todo = [m for m in media_ids if m not in kept]
        if not todo:
            return
        store = self.node.services.get(MEDIA_STORE)
        if store is None:
            raise Problem("invalid_field", 400, "this node does not take attachments", field="attachments")
        for media_id in todo:
            if await store.attach(media_id, user_id, where.channel_id) is None:
                raise Problem(
                    "invalid_field",
                    400,
                    f"{media_id} is not an upload of yours that can go here",
                    field="attachments",
                )

    async def _blocked_dm(self, where: Where, user_id: str) -> None:
        if not where.dm:
            return
        rel = self.node.services.get(RELATIONSHIPS)
        if rel is None:
            return
        others = await queries_chat.dm_others(self.db, where.channel_id, user_id)
        if len(others) == 1 and await rel.is_blocked(user_id, others[0]):
            raise forbidden("you cannot message this user")

    def _mentions(self, where: Where, content: str) -> tuple[list[str], list[str], bool]:
        users, roles, everyone = mentions(content)
        # Without MENTION_EVERYONE the text stays but notifies nobody.
        return users, roles, everyone and where.has(Perm.MENTION_EVERYONE)

    # -- create ---------------------------------------------------------------------------------

    async def send(self, user_id: str, channel_id: str, body: s.MessageIn) -> s.MessageOut:
        where = await self.gate.require(
            user_id,
            channel_id,
            Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES,
            kinds=CHAT_KINDS,
            what="sending messages",
        )
        if body.nonce is not None and (done := await self._sent(user_id, channel_id, body.nonce)):
            return done  # a retry of a send that went through (its reply was lost)
        if body.poll is not None:
            poll_ok(where.dm, body.poll)
        else:
            require_text(body.content, body.attachments)
        if body.attachments and not where.has(Perm.ATTACH_FILES):
            raise forbidden("attachments need ATTACH_FILES")
        await self._blocked_dm(where, user_id)
        mid = new_id()
        await self.automod(where, user_id, body.content, "message", mid)
        await self.attach(where, user_id, body.attachments)
        users, roles, everyone = self._mentions(where, body.content)
        payload = e.MessageCreate(
            channel_id=channel_id, content=body.content, attachments=body.attachments, reply_to=body.reply_to,
            thread_id=body.thread_id, mentions=users, mention_roles=roles, mention_everyone=everyone,
            poll=body.poll,
        )  # fmt: skip
        bypass_slowmode = where.has(Perm.MANAGE_MESSAGES) or where.has(Perm.MANAGE_CHANNELS)
        slowmode_ms = 0 if bypass_slowmode else where.access.slowmode_s * 1000
        clock = self.node.clock

        def write(tx: Tx) -> int | None:
            conn = tx.conn
            if body.nonce is not None and not queries_chat.claim_nonce(
                conn, user_id, channel_id, body.nonce, mid, int(clock.time()), NONCE_TTL_S
            ):
                return None  # the same nonce won a moment ago (two retries at once)
            if slowmode_ms:
                last = queries_chat.last_sent_hlc(conn, user_id, channel_id)
                wait_ms = (wall_ms(last) + slowmode_ms - clock.time_ms()) if last else 0
                if wait_ms > 0:
                    secs = str(max(1, -(-wait_ms // 1000)))
                    raise Problem("slowmode", 429, f"slow mode: wait {secs} s", headers={"Retry-After": secs})
            for field, ref in (("reply_to", body.reply_to), ("thread_id", body.thread_id)):
                if ref is None:
                    continue
                row = queries_chat.reply_target(conn, ref)
                if row is None or row["channel_id"] != channel_id:
                    raise Problem("invalid_field", 400, "no such message in this channel", field=field)
                if row["gone"]:
                    raise Problem("invalid_field", 400, "that message was deleted", field=field)
                if field == "thread_id" and row["thread_id"] is not None:
                    raise Problem("invalid_field", 400, "threads do not nest", field=field)
            ev = tx.append(
                "message.create", payload, community=where.community_id, author=user_id, target=mid
            )
            return ev.body.hlc

        hlc = await self.node.events.transaction(write)
        if hlc is None:
            assert body.nonce is not None
            done = await self._sent(user_id, channel_id, body.nonce)
            assert done is not None
            return done
        return s.MessageOut(
            id=mid, channel_id=channel_id, community_id=where.community_id, author_id=user_id,
            content=body.content, attachments=body.attachments, reply_to=body.reply_to,
            thread_id=body.thread_id, mentions=users, mention_roles=roles, mention_everyone=everyone,
            created_at=wall_ms(hlc), edited_at=None,
        )  # fmt: skip

    async def _sent(self, user_id: str, channel_id: str, nonce: str) -> s.MessageOut | None:
        mid = await queries_chat.sent_message_id(self.db, user_id, channel_id, nonce)
        return await self.get(user_id, channel_id, mid) if mid is not None else None

    # -- read -----------------------------------------------------------------------------------

    async def _cursor(self, channel_id: str, mid: str, field: str) -> tuple[int, str]:
        row = await queries_chat.message_cursor(self.db, channel_id, mid)
        if row is None:
            raise Problem("invalid_query", 400, "no such message in this channel", field=field)
        return row["hlc"], row["id"]

    async def list(self, user_id: str | None, channel_id: str, query: s.MessageQuery) -> MessagePage:
        """A page (oldest first) in one query with its reactions, encoded from the rows (wire.py)."""
        where = await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL | Perm.READ_HISTORY, kinds=CHAT_KINDS, write=False,
            what="reading history",
        )  # fmt: skip
        given = [f for f in ("before", "after", "around") if getattr(query, f) is not None]
        if len(given) > 1:
            raise Problem("invalid_query", 400, "give only one of before, after, around", field=given[1])
        if query.thread is not None:
            await self._cursor(channel_id, query.thread, "thread")
        args: dict[str, Any] = {"channel": channel_id, "thread": query.thread, "user": user_id,
                                "limit": query.limit}  # fmt: skip
        moderator = where.has(Perm.MANAGE_MESSAGES)
        page = queries_chat.message_page
        if query.before is not None:
            args["hlc"], args["id"] = await self._cursor(channel_id, query.before, "before")
            rows = (await page(self.db, "before", moderator, args))[::-1]
        elif query.after is not None:
            args["hlc"], args["id"] = await self._cursor(channel_id, query.after, "after")
            rows = await page(self.db, "after", moderator, args)
        elif query.around is not None:
            args["hlc"], args["id"] = await self._cursor(channel_id, query.around, "around")
            args["limit"] = query.limit // 2
            rows = (await page(self.db, "before", moderator, args))[::-1]
            args["limit"] = query.limit - len(rows)
            rows += await page(self.db, "from", moderator, args)
        else:
            rows = (await page(self.db, "latest", moderator, args))[::-1]
        return MessagePage(message_wires(rows))

    async def row(self, channel_id: str, mid: str) -> Row:
        row = await queries_chat.message(self.db, channel_id, mid)
        if row is None:
            raise not_found("message")
        return row

    async def get(self, user_id: str | None, channel_id: str, mid: str) -> s.MessageOut:
        where = await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL | Perm.READ_HISTORY, kinds=CHAT_KINDS, write=False
        )
        r = await self.row(channel_id, mid)
        if r["deleted"] or (r["removed"] and not where.has(Perm.MANAGE_MESSAGES)):
            raise not_found("message")
        reactions = await reactions_for(self.db, [mid], user_id)
        return message_out(r, reactions.get(mid))

    async def pins(self, user_id: str | None, channel_id: str) -> s.MessageList:
        await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL | Perm.READ_HISTORY, kinds=CHAT_KINDS, write=False
        )
        rows = await queries_chat.pinned_messages(self.db, channel_id)
        return s.MessageList([message_out(r) for r in rows])

    async def threads(self, user_id: str | None, channel_id: str, limit: int) -> s.ThreadList:
        """The channel's threads, the most recently active first: each root message with its reply
        count and the time of its latest reply (kept by the projection, see _settle_thread)."""
        where = await self.gate.require(
            user_id, channel_id, Perm.VIEW_CHANNEL | Perm.READ_HISTORY, kinds=CHAT_KINDS, write=False
        )
        rows = await queries_chat.thread_roots(self.db, channel_id, limit, where.has(Perm.MANAGE_MESSAGES))
        reactions = await reactions_for(self.db, [r["id"] for r in rows], user_id)
        return s.ThreadList([
            s.ThreadOut(root=message_out(r, reactions.get(r["id"])), reply_count=r["thread_count"],
                        last_reply_at=wall_ms(r["thread_last_hlc"]) if r["thread_last_hlc"] is not None
                        else r["created_at"])
            for r in rows
        ])  # fmt: skip

    # -- change ---------------------------------------------------------------------------------

    async def edit(self, user_id: str, channel_id: str, mid: str, body: s.MessageEditIn) -> s.MessageOut:
        where = await self.gate.require(user_id, channel_id, Perm.VIEW_CHANNEL, kinds=CHAT_KINDS)
        r = await self.row(channel_id, mid)
        if r["deleted"]:
            raise not_found("message")
        if r["author_id"] != user_id:
            raise forbidden("only the author can edit a message")
        had = json.loads(r["attachments"])
        attachments = had if body.attachments is None else body.attachments
        if body.attachments and not where.has(Perm.ATTACH_FILES):
            raise forbidden("attachments need ATTACH_FILES")
        require_text(body.content, attachments)
        await self.automod(where, user_id, body.content, "message", mid)
        await self.attach(where, user_id, attachments, kept=frozenset(had))
        users, roles, everyone = self._mentions(where, body.content)
        payload = e.MessageEdit(
            channel_id=channel_id, content=body.content, attachments=attachments, mentions=users,
            mention_roles=roles, mention_everyone=everyone,
        )  # fmt: skip
        await self.node.events.append(
            "message.edit", payload, community=where.community_id, author=user_id, target=mid
        )
        return await self.get(user_id, channel_id, mid)

    async def delete(self, principal: Principal, channel_id: str, mid: str, reason: str = "") -> None:
        """The author deletes (final); anyone else with MANAGE_MESSAGES removes it (reversible)."""
        user_id = principal.user_id
        where = await self.gate.require(user_id, channel_id, Perm.VIEW_CHANNEL, kinds=CHAT_KINDS)
        r = await self.row(channel_id, mid)
        if r["deleted"]:
            raise not_found("message")
        if r["author_id"] == user_id:
            await self.node.events.append(
                "message.delete", e.Delete(channel_id=channel_id), community=where.community_id,
                author=user_id, target=mid,
            )  # fmt: skip
            return
        await self.moderation.moderate(
            principal, "message", mid, s.ModerateIn(action="remove", reason=reason)
        )

    async def history(self, principal: Principal, channel_id: str, mid: str) -> s.EditHistory:
        where = await self.gate.require(
            principal.user_id, channel_id, Perm.VIEW_CHANNEL, kinds=CHAT_KINDS, write=False
        )
        if not (where.has(Perm.MANAGE_MESSAGES) or principal.admin):
            raise forbidden("edit history is for moderators (MANAGE_MESSAGES)")
        first = await queries_chat.message_first_version(self.db, channel_id, mid)
        if first is None:
            raise not_found("message")
        author = first["author_id"]
        versions = [s.EditOut("", author, first["content"], first["created_at"])]
        decode = EDIT_DECODERS["message"].decode
        for ed in await queries_chat.message_edits(self.db, mid, author):
            versions.append(
                s.EditOut(
                    ed["event_id"].hex(), ed["author_id"], decode(ed["data"]).content, wall_ms(ed["hlc"])
                )
            )
        return s.EditHistory(mid, versions)
