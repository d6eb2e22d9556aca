"""Federation: CRYB nodes replicate communities to each other, offline-first, and converge.

Built in as a plugin (``cryb_node.sync:plugin``) so it uses the same hooks as everything else:
its tables (migrations/), /.well-known/cryb-node and /federation/v1 (routes.py), a durable bus
consumer that tells peers about new events (never making local writes wait), the per-peer
workers (engine.py), /readyz and /metrics, the `cryb peer` / `cryb sync` commands (cli.py), and
node bans of remote users and peer nodes (bans.py, `cryb ban`).
Settings: ``[plugin.sync]`` (wire.SyncSettings).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import click
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cryb_node.bus import Subscription
from cryb_node.db import Connection
from cryb_node.events import Event, EventType
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin, Readiness
from cryb_node.scheduler import Job
from cryb_node.services import REMOTE_MEDIA

from . import bans, refused
from .ban_routes import ban_routes
from .banpolicy import NodeBanPolicy
from .homes import EVENT_TYPES
from .media import FederatedMedia, media_routes
from .parts import SYNC, Sync
from .routes import routes
from .wire import SyncSettings

PEER_POLL_S = 5.0  # peers pinned or removed by the CLI (another process) are picked up this fast
BAN_REINDEX_POLL_S = 2.0  # search catches up with a ban made by the CLI this fast


def _index_homes(conn: Connection, events: list[Event]) -> None:
    """Our own accounts are homed here (remote ones are recorded as their user.created arrives)."""
    for ev in events:
        if ev.kind == "user.created" and ev.body.target:
            conn.execute(
                "INSERT OR IGNORE INTO sync_user_homes (user_id, node_key)"
                " SELECT ?, node_key FROM log_keys WHERE origin = ?",
                (ev.body.target, ev.body.origin),
            )


class SyncPlugin(Plugin):
    name = "sync"
    config_type = SyncSettings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def event_types(self) -> Iterable[EventType]:

        return EVENT_TYPES

    def routes(self, api: Api, node: Node) -> None:
        routes(api, node)
        media_routes(api, node)
        ban_routes(api, node)

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        sync = node.services.require(SYNC)
        return [
            Subscription(name="sync.homes", handle_in_tx=_index_homes, kinds=frozenset({"user.created"})),
            Subscription(name="sync.outbox", handle=sync.on_events, linger_s=0.1),
        ]

    def jobs(self, node: Node) -> Iterable[Job]:
        sync = node.services.require(SYNC)

        async def refresh() -> None:
            await sync.engine.refresh_peers()
            sync.refused_events = await refused.by_node_and_code(node.db)

        async def reconcile() -> None:
            sync.engine.due_reconcile()

        async def reindex() -> None:
            await bans.reindex_pending(node)

        yield Job("sync.peers", refresh, IntervalTrigger(seconds=PEER_POLL_S))
        # search documents of users a ban (made by the CLI, in another process) hid or showed again
        yield Job("sync.ban-reindex", reindex, IntervalTrigger(seconds=BAN_REINDEX_POLL_S))
        yield Job("sync.reconcile", reconcile, IntervalTrigger(seconds=sync.settings.reconcile_interval_s))

    def setup(self, node: Node) -> None:
        sync = Sync.make(node, node.settings(self.name) or SyncSettings())
        node.services.provide(SYNC, sync)
        node.services.provide(REMOTE_MEDIA, FederatedMedia(node, sync))

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        sync = node.services.require(SYNC)
        # Node bans: this node's own refusals, asked after the rule book (before any event arrives).
        node.registry.local_policy = NodeBanPolicy()
        await sync.engine.open()
        try:
            yield
        finally:
            await sync.engine.close()

    async def readiness(self, node: Node) -> Readiness:
        # Unreachable peers never take the node out of service (offline-first): shown, still ok.
        states = node.services.require(SYNC).engine.states.values()
        parts = [
            f"{st.peer.name or st.peer.url}: {st.circuit}"
            + (f", {st.failures} failures ({st.last_error})" if st.failures else "")
            for st in states
        ]
        return Readiness(True, "; ".join(parts) or "no peers")

    def metrics(self, node: Node) -> Iterable[Any]:
        sync = node.services.require(SYNC)
        up = GaugeMetricFamily(
            "cryb_sync_peer_up", "1 if the last call to the peer succeeded", labels=["peer"]
        )
        circuit = GaugeMetricFamily(
            "cryb_sync_peer_circuit_open", "1 while the peer's breaker is open", labels=["peer"]
        )
        fails = GaugeMetricFamily("cryb_sync_peer_failures", "Consecutive failed calls", labels=["peer"])
        ev_in = CounterMetricFamily(
            "cryb_sync_events_received", "Events stored from the peer", labels=["peer"]
        )
        ev_out = CounterMetricFamily(
            "cryb_sync_events_sent", "Events the peer stored from us", labels=["peer"]
        )
        rej = CounterMetricFamily(
            "cryb_sync_events_rejected", "Invalid events from the peer", labels=["peer"]
        )
        for key, st in sync.engine.states.items():
            label = [key.hex()[:16]]
            up.add_metric(label, int(st.failures == 0 and st.last_ok is not None))
            circuit.add_metric(label, int(st.circuit == "open"))
            fails.add_metric(label, st.failures)
            ev_in.add_metric(label, st.events_in)
            ev_out.add_metric(label, st.events_out)
            rej.add_metric(label, st.rejected + sync.rejected_from.get(key, 0))
        refused = CounterMetricFamily(
            "cryb_sync_refused_calls", "Federation calls refused (401/403)", value=sync.refused
        )
        by_code = CounterMetricFamily(
            "cryb_sync_events_refused",
            "Events stored but refused (by the rule book, or node_banned here), by signing node and reason",
            labels=["peer", "reason"],
        )
        for key, code, n in sync.refused_events:
            by_code.add_metric([key.hex()[:16], code], n)
        return [up, circuit, fails, ev_in, ev_out, rej, refused, by_code]

    def cli(self) -> list[click.Command]:
        from .ban_cli import ban_group
        from .cli import export_group, import_cmd, peer, sync_group

        if "refused" not in sync_group.commands:
            sync_group.add_command(refused.command())
        return [peer, sync_group, export_group, import_cmd, ban_group]


plugin = SyncPlugin()
