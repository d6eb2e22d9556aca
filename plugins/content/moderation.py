"""Moderator actions on content (remove/approve, pin, lock, sticky) and the ban purge: a member.ban
event's delete_message_seconds window hides the banned member's recent content."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryb_node.bus import Subscription
from cryb_node.events import Event
from cryb_node.http.api import Principal
from cryb_node.problems import Problem, forbidden
from cryb_node.realtime.protocol import Dispatch
from cryb_node.sync.homes import community_home_of

from . import events as e
from . import queries
from . import schemas as s
from .access import Gate, rank
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
# What a ban's delete window covers, by kind (the tables projections.ban_purge settles).
PURGEABLE = {"message": "content_messages", "post": "content_posts", "comment": "content_comments"}
FIELDS = {"message": {"hidden", "pinned"}, "post": {"hidden", "locked", "sticky"}, "comment": {"hidden"}}


class Moderation:
    def __init__(self, node: Node, gate: Gate) -> None:
        self.node = node
        self.gate = gate

    async def moderate(
        self, principal: Principal, target_type: e.TargetType, target_id: str, body: s.ModerateIn
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
            target_type=target_type, channel_id=t.channel_id, field=field, value=value, rank=r,
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
        """Tell open sockets what a ban's delete window hid. The hiding itself is the ban's projection
        (projections.ban_purge, in the ban's own transaction): this consumer only reads."""
        for ev in events:
            window = await queries.purge_window(self.node.db, ev.id)
            if window is None:
                continue
            community, user = window["community_id"], window["user_id"]
            by_channel: dict[str, dict[str, list[str]]] = {}
            for kind, table in PURGEABLE.items():
                for r in await queries.purged(self.node.db, table, window):
                    by_channel.setdefault(r["channel_id"], {}).setdefault(f"{kind}_ids", []).append(r["id"])
            for channel, ids in by_channel.items():
                self.node.realtime.publish(
                    Dispatch(
                        "CONTENT_PURGE",
                        {"channel_id": channel, "community_id": community, "user_id": user, **ids},
                        community_id=community,
                        channel_id=channel,
                    )
                )
