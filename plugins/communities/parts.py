"""The communities plugin's parts, built once per node in its setup and found through ``PARTS``."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryb_node.events import Event
from cryb_node.node import Node
from cryb_node.services import ServiceKey

from . import events, queries
from .access import PermissionService
from .automod import AutomodService
from .moderation import Moderation
from .service import Communities

# Events written by another process (the CLI against the same database) reach the cache this fast.
EXTERNAL_POLL_S = 2.0


@dataclass
class Parts:
    """One node's instances of the plugin's services."""

    perms: PermissionService
    communities: Communities
    moderation: Moderation
    automod: AutomodService
    external_pos: int = -1
    own: set[int] = field(default_factory=set)

    def on_events(self, evs: list[Event]) -> None:
        self.perms.on_events(evs)
        self.own.update(e.pos for e in evs)

    async def notice_external(self, node: Node) -> None:
        """Invalidate communities changed by events this process did not write (the CLI)."""
        if self.external_pos < 0:
            self.external_pos = await queries.last_event(node.db)
            return
        rows = await queries.events_after(node.db, self.external_pos, events.KINDS)
        if rows:
            self.perms.invalidate(
                {r["community"] for r in rows if r["pos"] not in self.own and r["community"]}
            )
            self.external_pos = rows[-1]["pos"]
        self.own = {p for p in self.own if p > self.external_pos}

    @classmethod
    def make(cls, node: Node) -> Parts:
        perms = PermissionService(node)
        communities = Communities(node, perms)
        moderation = Moderation(communities)
        return cls(perms, communities, moderation, AutomodService(communities, moderation))


PARTS: ServiceKey[Parts] = ServiceKey("communities")
