"""Who may do what where: community channels ask the communities plugin's Permissions service (the
one permission function; nothing here recomputes it), DM channels are open to their participants.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryb_node.http.api import Principal
from cryb_node.problems import Problem, forbidden, not_found, unauthorized
from cryb_node.services import PERMISSIONS, ChannelAccess, Perm, Permissions

from . import queries_chat

if TYPE_CHECKING:
    from cryb_node.node import Node

# What a DM participant may do: everything but managing.
DM_PERMS = Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.READ_HISTORY | Perm.ATTACH_FILES | Perm.ADD_REACTIONS
CHAT_KINDS = ("text", "announcement", "dm")
_ADMINISTRATOR = int(Perm.ADMINISTRATOR)


@dataclass(frozen=True, slots=True)
class Where:
    """A channel as seen by one user."""

    access: ChannelAccess
    dm: bool

    @property
    def channel_id(self) -> str:
        return self.access.channel_id

    @property
    def community_id(self) -> str | None:
        return None if self.dm else self.access.community_id

    @property
    def kind(self) -> str:
        return self.access.kind

    def has(self, perm: Perm) -> bool:
        return self.access.has(perm)


def timed_out(until_ms: int, now_s: float) -> Problem:
    """A member timed out here: when it ends, as a time (UTC) and as Retry-After seconds."""
    end = datetime.fromtimestamp(until_ms / 1000, UTC)
    left = max(1, math.ceil(until_ms / 1000 - now_s))
    return Problem(
        "timed_out",
        403,
        f"you are timed out here until {end:%Y-%m-%d %H:%M} UTC",
        headers={"Retry-After": str(left)},
    )


def rank(principal: Principal | None, where: Where) -> int:
    """A moderator's rank for last-writer-wins of moderator flags (0: not a moderator here)."""
    if principal is not None and principal.admin:
        return 3
    if where.access.perms & Perm.ADMINISTRATOR:
        return 2
    return 1 if where.has(Perm.MANAGE_MESSAGES) else 0


class Gate:
    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def permissions(self) -> Permissions | None:
        return self.node.services.get(PERMISSIONS)

    async def where(self, user_id: str | None, channel_id: str) -> Where | None:
        perms = self.permissions
        if perms is not None:
            access = await perms.channel(user_id, channel_id)
            if access is not None:
                return Where(access, dm=False)
        dm = await queries_chat.dm_access(self.node.db, channel_id, user_id)
        if not dm["is_dm"]:
            return None
        member = bool(dm["member"])
        access = ChannelAccess(
            channel_id=channel_id,
            community_id="",
            kind="dm",
            perms=int(DM_PERMS) if member else 0,
            member=member,
        )
        return Where(access, dm=True)

    async def require(
        self,
        user_id: str | None,
        channel_id: str,
        perms: Perm = Perm.VIEW_CHANNEL,
        *,
        kinds: Iterable[str] | None = None,
        write: bool = True,
        what: str = "this",
    ) -> Where:
        """The channel if the user holds every bit of ``perms`` there; else 401/403/404.

        Writes also need membership (a public community's visitors may read, not write).
        """
        where = await self.where(user_id, channel_id)
        if where is None:
            raise not_found("channel")
        if not where.has(Perm.VIEW_CHANNEL):
            if user_id is None:
                raise unauthorized()
            raise not_found("channel") if where.dm else forbidden("you cannot view this channel")
        if kinds is not None and where.kind not in kinds:
            raise Problem(
                "wrong_channel_kind",
                400,
                f"{what} is not possible in a {where.kind} channel",
                field="channel_id",
            )
        if write and user_id is None:
            raise unauthorized()
        if write and not where.access.member:
            raise forbidden("join the community first")
        have = where.access.perms
        if int(perms) & ~have and not have & _ADMINISTRATOR:
            missing = [p.name for p in Perm if p in perms and not where.has(p)]
            if where.access.timed_out_until and Perm.SEND_MESSAGES in perms:
                raise timed_out(where.access.timed_out_until, self.node.clock.time())
            raise forbidden(f"{what} needs {', '.join(str(m) for m in missing)}")
        return where
