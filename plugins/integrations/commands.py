"""Slash commands: a bot registers commands in a community it is a member of (name, description,
typed options); members list them for the composer; the bot (or a manager) removes them; a bot that
prefers HTTP registers an interactions URL (private addresses refused as for event webhooks)."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from cryb_node.clock import new_id
from cryb_node.db import Connection
from cryb_node.http.api import Principal
from cryb_node.node import Node
from cryb_node.problems import Problem, not_found
from cryb_node.services import DIRECTORY, PERMISSIONS, Perm, Permissions

from . import command_schemas as cs
from . import queries
from .netguard import AddressRefused, Guard

MAX_COMMANDS = 100  # per community


def require_bot(principal: Principal | None) -> str:
    if principal is None or not principal.bot:
        raise Problem("bot_required", 403, "only a bot account registers commands and answers interactions")
    return principal.user_id


def check_options(options: list[cs.CommandOption]) -> None:
    """Option names are unique and required options come first (the composer asks for them in order)."""
    seen: set[str] = set()
    optional = False
    for i, opt in enumerate(options):
        if opt.name in seen:
            raise Problem(
                "invalid_field", 400, f"option {opt.name!r} is given twice", field=f"options[{i}].name"
            )
        seen.add(opt.name)
        if opt.required and optional:
            raise Problem("invalid_field", 400, "required options come before optional ones",
                          field=f"options[{i}].required")  # fmt: skip
        optional = optional or not opt.required


def _out(r: Any) -> cs.CommandOut:
    """``r``: a row of queries.COMMAND."""
    return cs.CommandOut(
        id=r["id"], community_id=r["community_id"], bot_id=r["bot_id"], bot_name=r["bot_name"],
        name=r["name"], description=r["description"],
        options=msgspec.json.decode(r["options"], type=list[cs.CommandOption]),
    )  # fmt: skip


class Commands:
    def __init__(self, node: Node, guard: Guard) -> None:
        self.node = node
        self.guard = guard

    def _perms(self) -> Permissions:
        return self.node.services.require(PERMISSIONS)

    async def register(self, bot_id: str, community_id: str, name: str, body: cs.CommandIn) -> cs.CommandOut:
        if not await self._perms().is_member(bot_id, community_id):
            raise not_found("community")
        check_options(body.options)
        options = msgspec.json.encode(body.options).decode()
        now = self.node.clock.time_ms()

        def write(conn: Connection) -> Any:
            row = conn.execute(queries.COMMAND_OWNER, (community_id, name)).fetchone()
            if row is not None and row["bot_id"] != bot_id:
                raise Problem("command_taken", 409, f"another bot has /{name} here", field="name")
            if row is None:
                if queries.count_commands(conn, community_id) >= MAX_COMMANDS:
                    raise Problem("too_many_tokens", 409, f"a community has at most {MAX_COMMANDS} commands")
                queries.insert_command(
                    conn,
                    {
                        "id": new_id(),
                        "community_id": community_id,
                        "bot_id": bot_id,
                        "name": name,
                        "description": body.description,
                        "options": options,
                        "created_at": now,
                    },
                )
            else:
                queries.update_command(conn, row["id"], body.description, options)
            return conn.execute(queries.COMMAND_BY_NAME, (community_id, name)).fetchone()

        return _out(await self.node.db.write(write))

    async def list(self, user_id: str, community_id: str) -> cs.CommandList:
        """The community's commands whose bots are still members (what the composer offers)."""
        perms = self._perms()
        if not await perms.is_member(user_id, community_id):
            raise not_found("community")
        rows = await self.node.db.fetchall(queries.COMMANDS_OF, (community_id,))
        return cs.CommandList([_out(r) for r in rows if await self.serves(r["bot_id"], community_id)])

    async def serves(self, bot_id: str, community_id: str) -> bool:
        """The bot still answers here: a member, with an active account (a deleted bot stays a member
        until someone removes it, but its commands go at once)."""
        directory = self.node.services.get(DIRECTORY)
        if directory is not None and await directory.contact(bot_id) is None:
            return False
        return await self._perms().is_member(bot_id, community_id)

    async def get(self, command_id: str) -> cs.CommandOut:
        row = await self.node.db.fetchone(queries.COMMAND_BY_ID, (command_id,))
        if row is None:
            raise not_found("command")
        return _out(row)

    async def delete(self, principal: Principal, community_id: str, name: str) -> None:
        row = await self.node.db.fetchone(queries.COMMAND_OWNER, (community_id, name))
        if row is None:
            raise not_found("command")
        if row["bot_id"] != principal.user_id:
            have = await self._perms().community(principal.user_id, community_id)
            if not have & (Perm.MANAGE_COMMUNITY | Perm.ADMINISTRATOR):
                raise not_found("command")
        command_id = row["id"]
        await self.node.db.write(lambda conn: queries.delete_command(conn, command_id))

    async def set_endpoint(self, bot_id: str, body: cs.EndpointIn) -> cs.EndpointOut:
        if body.url is None:
            await self.node.db.write(lambda conn: queries.delete_endpoint(conn, bot_id))
            return cs.EndpointOut(url=None)
        try:
            await self.guard.check_resolves(body.url)
        except AddressRefused as err:
            raise Problem("address_refused", 400, str(err), field="url") from None
        except ValueError as err:
            raise Problem("invalid_field", 400, str(err), field="url") from None
        secret = secrets.token_urlsafe(32)
        url, now = body.url, self.node.clock.time_ms()
        await self.node.db.write(lambda conn: queries.set_endpoint(conn, bot_id, url, secret, now))
        return cs.EndpointOut(url=body.url, secret=secret)

    async def endpoint(self, bot_id: str) -> tuple[str, str] | None:
        row = await self.node.db.fetchone(queries.ENDPOINT, (bot_id,))
        return (row["url"], row["secret"]) if row else None
