"""Federation's parts of one node (engine, request verifier, counters), built in the sync plugin's
setup and found through ``SYNC``."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryb_node.events import Event
from cryb_node.node import Node
from cryb_node.services import ServiceKey

from .auth import Verifier
from .engine import Engine
from .vectors import scope_of
from .wire import SyncSettings


@dataclass
class Sync:
    """One node's federation parts."""

    node: Node
    settings: SyncSettings
    engine: Engine
    verifier: Verifier
    refused: int = 0
    rejected_from: dict[bytes, int] = field(default_factory=dict)
    # (signing node, reason code) -> refused events stored, refreshed from the table for /metrics
    refused_events: list[tuple[bytes, str, int]] = field(default_factory=list)

    def count_rejections(self, peer: bytes, n: int) -> None:
        if n:
            self.rejected_from[peer] = self.rejected_from.get(peer, 0) + n

    async def on_events(self, events: list[Event]) -> None:
        if any(scope_of(e.body.community, e.kind) is not None for e in events):
            self.engine.local_news()
        await self.engine.entitlement_news(events)

    @classmethod
    def make(cls, node: Node, settings: SyncSettings) -> Sync:
        return cls(node, settings, Engine(node, settings), Verifier(node.identity.node_public))


SYNC: ServiceKey[Sync] = ServiceKey("sync")
