"""Moderator actions on content (remove/approve, pin, lock, sticky) and the ban purge: a member.ban
event's delete_message_seconds window hides the banned member's recent content."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cryb_node.bus import Subscription
from cryb_node.clock import pack, wall_ms
from cryb_node.events import Event
from cryb_node.gateway.api import Principal
from cryb_node.problems import Problem, forbidden
from cryb_node.realtime.protocol import Dispatch
from cryb_node.sync.homes import community_home_of

from . import events as e
from . import schemas as s
from .access import Gate, rank
from .projections import purge
from .targets import locate

if TYPE_CHECKING:
    from cryb_node.node import Node

ACTIONS: dict[str, tuple[e.ModField, bool]] = {
    "remove": ("hidden", True),
    "approve": ("hidden", False),
    "pin": ("pinned", True),
    "unpin": ("pinned", False),
    "lock": ("locked", True),
    "unlock": ("locked", False),
    "sticky": ("sticky", True),
    "unsticky": ("sticky", False),
}
FIELDS = {"message": {"hidden", "pinned"}, "post": {"hidden", "locked", "sticky"}, "comment": {"hidden"}}


class Moderation:
    def __init__(self, node: Node, gate: Gate) -> None:
        self.node = node
        self.gate = gate

    async def moderate(
        self, principal: Principal, target_type: str, target_id: str, body: s.ModerateIn
    ) -> None:
        field, value = ACTIONS[body.action]
        if field not in FIELDS[target_type]:
            raise Problem("invalid_field", 400, f"a {target_type} cannot be {body.action}ed", field="action")
        t = await locate(self.node.db, target_type, target_id)
        where = await self.gate.require(principal.user_id, t.channel_id, write=not principal.admin)
        r = rank(principal, where)
        if r == 3 and t.community_id is not None and not await self._home_here(t.community_id):
            # a node admin's authority covers the communities homed on this node only (peers
            # refuse rank 3 from any other node); elsewhere they moderate as their roles allow
            r = rank(None, where)
        if r == 0:
            raise forbidden("moderating content needs MANAGE_MESSAGES")
        payload = e.Moderate(
            target_type=target_type, channel_id=t.channel_id, field=field, value=value, rank=r,  # type: ignore[arg-type]
            reason=body.reason,
        )  # fmt: skip
        await self.node.events.append(
            "content.moderate", payload, community=t.community_id, author=principal.user_id, target=target_id
        )

    async def _home_here(self, community: str) -> bool:
        home = await community_home_of(self.node.db, community)
        return home is None or home == self.node.identity.node_public

    # -- ban purge ------------------------------------------------------------------------------

    def subscription(self) -> Subscription:
        return Subscription(name="content.ban-purge", handle=self._on_bans, kinds=frozenset({"member.ban"}))

    async def _on_bans(self, events: list[Event]) -> None:
        for ev in events:
            seconds = int(getattr(ev.payload, "delete_message_seconds", 0) or 0)
            community, user = ev.body.community, ev.body.target
            if seconds <= 0 or community is None or user is None:
                continue
            hlc = ev.body.hlc
            start = pack(max(0, wall_ms(hlc) - seconds * 1000), 0)

            def job(
                conn: Any,
                ev: Event = ev,
                cid: str = community,
                uid: str = user,
                start: int = start,
                hlc: int = hlc,
            ) -> list[tuple[str, str, str]]:
                return purge(conn, ev.id, cid, uid, start, hlc)

            hit = await self.node.db.write(job)
            by_channel: dict[str, dict[str, list[str]]] = {}
            for kind, target, channel in hit:
                by_channel.setdefault(channel, {}).setdefault(f"{kind}_ids", []).append(target)
            for channel, ids in by_channel.items():
                self.node.realtime.publish(
                    Dispatch(
                        "CONTENT_PURGE",
                        {"channel_id": channel, "community_id": community, "user_id": user, **ids},
                        community_id=community,
                        channel_id=channel,
                    )
                )
