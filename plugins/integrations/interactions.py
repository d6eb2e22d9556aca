"""Interactions: a member uses a bot's slash command in a channel; the node checks the options
against the command's types, hands the interaction to the bot (an INTERACTION_CREATE dispatch to its
gateway sessions, or a signed POST to its interactions URL) and waits for the bot's answer until the
deadline. A public answer is a message by the bot marked with the interaction; an ephemeral one is
sent only to the caller's sessions and never stored. Past the deadline the caller is told the bot
did not respond (INTERACTION_FAILED) and a late answer is refused."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import msgspec

from cryb_node.clock import new_id
from cryb_node.events import Tx
from cryb_node.node import Node
from cryb_node.problems import Problem, forbidden, not_found
from cryb_node.realtime.protocol import Dispatch
from cryb_node.services import PERMISSIONS, Perm, Permissions

from . import command_schemas as cs
from . import queries
from .commands import Commands
from .netguard import AddressRefused, Guard
from .outgoing import USER_AGENT, sign
from .schemas import Settings

log = logging.getLogger(__name__)
MAX_STRING = 1000  # a string option's length


class Interactions:
    def __init__(self, node: Node, settings: Settings, guard: Guard, commands: Commands) -> None:
        self.node = node
        self.settings = settings
        self.guard = guard
        self.commands = commands
        self._tasks: set[asyncio.Task[None]] = set()

    def _perms(self) -> Permissions:
        return self.node.services.require(PERMISSIONS)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- invoking ---------------------------------------------------------------------------------

    async def invoke(self, user_id: str, channel_id: str, body: cs.InvokeIn) -> cs.Interaction:
        perms = self._perms()
        access = await perms.channel(user_id, channel_id)
        if access is None or not access.member or not access.has(Perm.VIEW_CHANNEL):
            raise not_found("channel")
        if not access.has(Perm.SEND_MESSAGES):
            raise forbidden("using commands needs SEND_MESSAGES")
        try:
            cmd = await self.commands.get(body.command_id)
        except Problem:
            raise Problem("not_found", 404, "command not found", field="command_id") from None
        if cmd.community_id != access.community_id or not await self.commands.serves(
            cmd.bot_id, cmd.community_id
        ):
            raise Problem("not_found", 404, "command not found", field="command_id")
        bot_access = await perms.channel(cmd.bot_id, channel_id)
        if bot_access is None or not bot_access.has(Perm.VIEW_CHANNEL):
            raise forbidden("the command's bot cannot see this channel")
        options = await self._check_values(user_id, cmd, body.options)
        now = self.node.clock.time_ms()
        deadline = now + int(self.settings.interaction_deadline_s * 1000)
        out = cs.Interaction(
            id=new_id(), command_id=cmd.id, name=cmd.name, community_id=cmd.community_id,
            channel_id=channel_id, user_id=user_id, options=options, deadline_at=deadline,
        )  # fmt: skip
        row = {
            "id": out.id, "command_id": cmd.id, "name": cmd.name, "community_id": cmd.community_id,
            "channel_id": channel_id, "bot_id": cmd.bot_id, "user_id": user_id, "created_at": now,
            "deadline_at": deadline,
        }  # fmt: skip
        await self.node.db.write(lambda conn: queries.insert_interaction(conn, row))
        endpoint = await self.commands.endpoint(cmd.bot_id)
        if endpoint is None:
            data = msgspec.to_builtins(out)
            self.node.realtime.publish(Dispatch("INTERACTION_CREATE", data, users=frozenset({cmd.bot_id})))
        else:
            self._spawn(self._post(out, *endpoint), f"interaction:{out.id}:post")
        self._spawn(self._expire_later(out), f"interaction:{out.id}:deadline")
        return out

    async def _check_values(self, user_id: str, cmd: cs.CommandOut, given: dict[str, Any]) -> dict[str, Any]:
        known = {o.name: o for o in cmd.options}
        for name in given:
            if name not in known:
                raise Problem(
                    "invalid_field", 400, f"/{cmd.name} has no option {name!r}", field=f"options.{name}"
                )
        perms = self._perms()
        for opt in cmd.options:
            field = f"options.{opt.name}"
            if opt.name not in given:
                if opt.required:
                    raise Problem("invalid_field", 400, f"{opt.name} is required", field=field)
                continue
            v = given[opt.name]
            good = {
                "string": isinstance(v, str) and 0 < len(v) <= MAX_STRING,
                "integer": isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**53,
                "boolean": isinstance(v, bool),
                "user": isinstance(v, str) and await perms.is_member(v, cmd.community_id),
                "channel": isinstance(v, str) and await self._channel_here(user_id, v, cmd.community_id),
            }[opt.type]
            if not good:
                raise Problem("invalid_field", 400, f"{opt.name} must be a {opt.type} of this community",
                              field=field)  # fmt: skip
        return dict(given)

    async def _channel_here(self, user_id: str, channel_id: str, community_id: str) -> bool:
        access = await self._perms().channel(user_id, channel_id)
        return access is not None and access.community_id == community_id and access.has(Perm.VIEW_CHANNEL)

    async def _post(self, out: cs.Interaction, url: str, secret: str) -> None:
        body = msgspec.json.encode(out)
        ts = str(int(self.node.clock.time()))
        headers = {
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            "X-Cryb-Event": "interaction.create", "X-Cryb-Timestamp": ts,
            "X-Cryb-Signature": sign(secret, ts, body),
        }  # fmt: skip
        timeout = self.settings.interaction_deadline_s
        try:
            self.guard.check_url(url)
            async with (
                self.guard.session(connect_s=min(3.0, timeout), total_s=timeout) as http,
                http.post(url, data=body, headers=headers, allow_redirects=False) as resp,
            ):
                if not 200 <= resp.status < 300:
                    log.info("interactions URL for interaction %s answered %s", out.id, resp.status)
        except (AddressRefused, aiohttp.ClientError, TimeoutError, ValueError) as err:
            log.info("interaction %s not delivered: %s", out.id, type(err).__name__)

    async def _expire_later(self, out: cs.Interaction) -> None:
        await asyncio.sleep(max(0.0, (out.deadline_at - self.node.clock.time_ms()) / 1000))
        await self.expire(out.id)

    async def expire(self, interaction_id: str) -> bool:
        """Past its deadline, an unanswered interaction fails and its caller is told."""
        now = self.node.clock.time_ms()
        row = await self.node.db.write(lambda conn: queries.expire_interaction(conn, interaction_id, now))
        if row is None:
            return False
        data = {"interaction_id": interaction_id, "channel_id": row["channel_id"], "name": row["name"],
                "reason": "the bot did not respond"}  # fmt: skip
        self.node.realtime.publish(Dispatch("INTERACTION_FAILED", data, users=frozenset({row["user_id"]})))
        return True

    async def sweep(self, keep_ms: int = 86_400_000) -> int:
        """Fail the overdue interactions whose timers a restart lost (their callers are told), and
        forget interactions older than ``keep_ms``. Returns how many failed."""
        now = self.node.clock.time_ms()
        overdue = await self.node.db.fetchall(queries.OVERDUE, (now,))
        failed = sum([await self.expire(r["id"]) for r in overdue])
        await self.node.db.write(lambda conn: queries.forget_interactions(conn, now - keep_ms))
        return failed

    # -- answering --------------------------------------------------------------------------------

    async def answer(
        self, bot_id: str, interaction_id: str, body: cs.InteractionAnswerIn
    ) -> cs.InteractionAnswerOut:
        row = await self.node.db.fetchone(queries.INTERACTION, (interaction_id,))
        if row is None or row["bot_id"] != bot_id:
            raise not_found("interaction")
        caller, community_id = row["user_id"], row["community_id"]
        channel_id, name = row["channel_id"], row["name"]
        now = self.node.clock.time_ms()
        expired = Problem("interaction_expired", 410, "the deadline passed or the interaction was answered")
        mid: str | None = None
        if body.ephemeral:
            claimed = await self.node.db.write(
                lambda conn: conn.execute(queries.CLAIM, (interaction_id, now)).rowcount
            )
            if not claimed:
                raise expired
        else:
            et = self.node.registry.get("message.create")
            if et is None:
                raise Problem("unavailable", 503, "this node does not serve chat")
            mid = new_id()
            payload = msgspec.convert(
                {"channel_id": channel_id, "content": body.content,
                 "interaction": {"id": interaction_id, "name": name, "user_id": caller}},
                et.payload,
            )  # fmt: skip

            def write(tx: Tx) -> None:
                if not tx.conn.execute(queries.CLAIM, (interaction_id, now)).rowcount:
                    raise expired
                tx.append("message.create", payload, community=community_id, author=bot_id, target=mid)

            await self.node.events.transaction(write)
        data = {
            "interaction_id": interaction_id, "channel_id": channel_id, "community_id": community_id,
            "name": name, "bot_id": bot_id, "user_id": caller, "ephemeral": body.ephemeral,
            "content": body.content if body.ephemeral else None, "message_id": mid,
        }  # fmt: skip
        # Only the caller's sessions: an ephemeral answer reaches nobody else and is kept nowhere.
        self.node.realtime.publish(Dispatch("INTERACTION_RESPONSE", data, users=frozenset({caller})))
        return cs.InteractionAnswerOut(interaction_id=interaction_id, message_id=mid)
