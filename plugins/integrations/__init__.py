"""The integrations plugin: incoming webhooks that post in a channel as a named integration,
outgoing event webhooks (signed deliveries retried through the core's outbox machinery) and link
previews (fetched SSRF-safely, images re-encoded by the media plugin, cached). docs/integrations.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.bus import Subscription
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.scheduler import Job
from cryb_node.services import ServiceKey

from .command_routes import SLASH, SlashParts, command_routes
from .commands import Commands
from .incoming import Incoming
from .interactions import Interactions
from .netguard import Guard
from .outgoing import Outgoing, prune
from .previews import CONSUMER as PREVIEWS
from .previews import KINDS as PREVIEW_KINDS
from .previews import Previews
from .schemas import Settings


@dataclass
class Parts:
    incoming: Incoming
    outgoing: Outgoing
    previews: Previews


PARTS: ServiceKey[Parts] = ServiceKey("integrations")


def parts(node: Node) -> Parts:
    return node.services.require(PARTS)


class IntegrationsPlugin(Plugin):
    name = "integrations"
    config_type = Settings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def routes(self, api: Api, node: Node) -> None:
        from .routes import routes

        routes(api, node)
        command_routes(api, node)

    def setup(self, node: Node) -> None:
        settings: Settings = node.settings(self.name)
        guard = Guard(settings.allow_networks)
        found = Parts(
            Incoming(node, settings), Outgoing(node, settings, guard), Previews(node, settings, guard)
        )
        node.services.provide(PARTS, found)
        commands = Commands(node, guard)
        node.services.provide(SLASH, SlashParts(commands, Interactions(node, settings, guard, commands)))

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        found = parts(node)
        await found.incoming.attach()
        try:
            yield
        finally:
            await found.outgoing.stop()
            await node.services.require(SLASH).interactions.stop()
            await found.previews.stop()
            await found.incoming.detach()

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        # A token hash is as good as a password hash to guess against; a subscription secret signs
        # deliveries; delivery bodies quote messages of channels the reader may not see.
        return {
            "integ_webhooks": ("token_hash",),
            "integ_subscriptions": ("secret",),
            "integ_deliveries": ("body",),
        }

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        p = parts(node)
        # Only a serving node asks for subscriptions, so the workers start here (as notifications').
        p.outgoing.start()
        p.previews.start()

        def deliveries(conn: Connection, events: list[Event]) -> None:
            p.outgoing.enqueue(conn, events)

        def previews(conn: Connection, events: list[Event]) -> None:
            p.previews.record_links(conn, events)

        yield Subscription("integrations.deliveries", handle_in_tx=deliveries)
        yield Subscription(PREVIEWS, handle_in_tx=previews, kinds=PREVIEW_KINDS)

    def jobs(self, node: Node) -> Iterable[Job]:
        async def forget() -> None:
            now = node.clock.time_ms()
            await node.db.write(lambda conn: prune(conn, now))

        yield Job("integrations.prune", forget, IntervalTrigger(hours=6))

        # Interaction deadlines are timers in memory; after a restart this fails the overdue ones.
        async def sweep() -> None:
            await node.services.require(SLASH).interactions.sweep()

        yield Job("integrations.interactions", sweep, IntervalTrigger(minutes=1))


plugin = IntegrationsPlugin()
