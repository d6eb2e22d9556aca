"""The notifications plugin: an inbox per user fed by a durable bus consumer (mentions, replies, DMs,
comments, moderation, announcements) and by notices other plugins record (friend requests, report
outcomes); realtime NOTIFICATION_CREATE dispatches, Web Push, immediate mail and digests through an
outbox; preferences per user, community and channel. It provides the core's Notifier service.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.bus import Subscription
from cryb_node.export import ExportSink
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.scheduler import Job
from cryb_node.services import NOTIFIER

from . import export
from .parts import PARTS, Parts
from .queries_outbox import prune
from .routes import routes
from .rules import KINDS
from .schemas import Settings

CONSUMER = "notifications"


class NotificationsPlugin(Plugin):
    name = "notifications"
    config_type = Settings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def routes(self, api: Api, node: Node) -> None:
        routes(api, node)

    def setup(self, node: Node) -> None:
        found = Parts.make(node, node.settings(self.name))
        node.services.provide(PARTS, found)
        node.services.provide(NOTIFIER, found.svc)

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await node.services.require(PARTS).outbox.stop()

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        # A push endpoint and its auth secret let anyone push to that browser; previews and queued
        # mail quote direct messages.
        return {
            "notif_push_subs": ("endpoint", "auth"),
            "notif_inbox": ("preview",),
            "notif_outbox": ("payload",),
        }

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        async def handle(events: list[Any]) -> None:
            await node.services.require(PARTS).svc.handle(events)

        # Only a serving node asks for subscriptions (CLI commands open the node without them), so
        # the outbox worker that sends mail and push starts here rather than in the lifespan.
        node.services.require(PARTS).outbox.start()
        yield Subscription(CONSUMER, handle=handle, kinds=KINDS, linger_s=0.05)

    def jobs(self, node: Node) -> Iterable[Job]:
        async def digests() -> None:
            await node.services.require(PARTS).outbox.run_digests()

        async def forget() -> None:
            svc = node.services.require(PARTS).svc
            now = svc.clock()
            await node.db.write(lambda conn: prune(conn, now, svc.s.retention_days))

        settings: Settings = node.settings(self.name)
        yield Job("notifications.digests", digests, IntervalTrigger(seconds=settings.digest_every_s))
        yield Job("notifications.prune", forget, IntervalTrigger(hours=6))

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        await export.export_member(node.db, user_id, sink)

    async def gateway_ready(self, node: Node, user_id: str) -> Mapping[str, Any]:
        return {"notifications_unread": await node.services.require(PARTS).svc.unread(user_id)}


plugin = NotificationsPlugin()
