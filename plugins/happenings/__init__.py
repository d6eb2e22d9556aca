"""The happenings plugin: Discord-style scheduled events of communities (time zone, a channel or a
place, RSVP, reminders through notifications, an iCal feed), replicated as signed events. Named so
its package does not clash with cryb_node.events. README, "Scheduled events"."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable

from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.db import Connection
from cryb_node.events import EventType, Projection
from cryb_node.export import ExportSink
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.realtime.protocol import Dispatcher
from cryb_node.scheduler import Job
from cryb_node.services import ServiceKey

from . import events
from .dispatch import dispatchers
from .schemas import Settings
from .service import Happenings

HAPPENINGS: ServiceKey[Happenings] = ServiceKey("happenings")


def happenings(node: Node) -> Happenings:
    return node.services.require(HAPPENINGS)


class HappeningsPlugin(Plugin):
    name = "happenings"
    config_type = Settings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def event_types(self) -> Iterable[EventType]:
        return events.event_types()

    def clear_community(self, conn: Connection, community_id: str) -> None:
        events.clear_community(conn, community_id)

    def projections(self) -> Mapping[str, Projection]:
        # A member who leaves (or is kicked or banned) stops counting as going: part of the
        # membership event's projection, so every node and every replay drops the same answers.
        return dict.fromkeys(events.DEPARTURES, events.apply_departure)

    def state_queries(self) -> Mapping[str, str]:
        return events.STATE_QUERIES

    def setup(self, node: Node) -> None:
        node.services.provide(HAPPENINGS, Happenings(node, node.settings(self.name)))

    def routes(self, api: Api, node: Node) -> None:
        from .routes import routes

        routes(api, node)

    def dispatchers(self, node: Node) -> Mapping[str, Dispatcher]:
        return dispatchers(happenings(node))

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        from .export import export_member

        await export_member(node.db, user_id, sink)

    def jobs(self, node: Node) -> Iterable[Job]:
        svc = happenings(node)

        async def remind() -> None:
            await svc.remind()

        yield Job("happenings.reminders", remind, IntervalTrigger(seconds=svc.settings.remind_every_s))


plugin = HappeningsPlugin()
