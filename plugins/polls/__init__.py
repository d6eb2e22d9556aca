"""The polls plugin: polls carried by messages and posts (content's ``poll`` field), votes and early
ends as signed events that replicate, counts that converge on every node, POLL_UPDATE over the
gateway. docs/polls.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable

from cryb_node.db import Connection
from cryb_node.events import EventType, Projection
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.realtime.protocol import Dispatcher
from cryb_node.services import ServiceKey

from . import dispatch, events
from .service import Polls

POLLS: ServiceKey[Polls] = ServiceKey("polls")


def polls(node: Node) -> Polls:
    return node.services.require(POLLS)


class PollsPlugin(Plugin):
    name = "polls"

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def event_types(self) -> Iterable[EventType]:
        return events.event_types()

    def projections(self) -> Mapping[str, Projection]:
        return events.PROJECTIONS

    def clear_community(self, conn: Connection, community_id: str) -> None:
        events.clear_community(conn, community_id)

    def setup(self, node: Node) -> None:
        node.services.provide(POLLS, Polls(node))

    def routes(self, api: Api, node: Node) -> None:
        from .routes import routes

        routes(api, node)

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        # Who voted what in an anonymous poll is kept from the API; the data console too.
        return {"poll_votes": ("user_id", "choices")}

    def dispatchers(self, node: Node) -> Mapping[str, Dispatcher]:
        return dispatch.dispatchers()


plugin = PollsPlugin()
