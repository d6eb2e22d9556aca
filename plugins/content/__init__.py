"""The content plugin: chat messages and DMs, forum posts with threaded comments, reactions, votes,
feeds, content moderation and counters. Every change is an event (events.py); projections.py turns
them into the tables the routes read, whatever order they arrive in.

It uses the core's Permissions and Automod services (the communities plugin) for every community
check and the Relationships service (users) for DM blocks; without communities only DMs work.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from importlib import resources
from importlib.abc import Traversable
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.bus import Subscription
from cryb_node.db import Connection
from cryb_node.events import EventType, Projection
from cryb_node.export import ExportSink
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.realtime.protocol import Dispatcher
from cryb_node.scheduler import Job
from cryb_node.services import AUTHORED_CONTENT, CONTENT_TARGETS

from . import dispatch
from .erasure import AuthorErasure
from .export import export_member
from .forward import forward_routes
from .projections import ban_purge, clear_community, event_types
from .routes import chat_routes, post_routes, shared_routes
from .service import CONTENT, Content
from .statehash import QUERIES
from .targets import ContentTargetService


class ContentPlugin(Plugin):
    name = "content"

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def event_types(self) -> Iterable[EventType]:
        return event_types()

    def clear_community(self, conn: Connection, community_id: str) -> None:
        clear_community(conn, community_id)

    def routes(self, api: Api, node: Node) -> None:
        chat_routes(api, node)
        post_routes(api, node)
        shared_routes(api, node)
        forward_routes(api, node)

    def projections(self) -> Mapping[str, Projection]:
        # A ban's delete window hides content: part of the ban's projection, not a later consumer's
        # write, so a replay of the log (or a peer given the ban first) hides the same content.
        return {"member.ban": ban_purge}

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        return [node.services.require(CONTENT).moderation.subscription()]

    def jobs(self, node: Node) -> Iterable[Job]:
        flush = node.services.require(CONTENT).posts.flush_views
        return [Job("content.flush-views", flush, IntervalTrigger(seconds=10))]

    def setup(self, node: Node) -> None:
        node.services.provide(CONTENT, Content(node))
        node.services.provide(AUTHORED_CONTENT, AuthorErasure())
        node.services.provide(CONTENT_TARGETS, ContentTargetService(node.db))

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        content = node.services.require(CONTENT)
        try:
            yield
        finally:
            await content.posts.flush_views()

    def state_queries(self) -> Mapping[str, str]:
        return QUERIES

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        await export_member(node, user_id, sink)

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        # Direct messages share these tables with community chat, and a column cannot be hidden by
        # row: message text and edit payloads stay out of the console for every channel.
        return {"content_messages": ("content", "original"), "content_edits": ("data",)}

    def dispatchers(self, node: Node) -> Mapping[str, Dispatcher]:
        return dispatch.dispatchers()

    async def gateway_ready(self, node: Node, user_id: str) -> Mapping[str, Any]:
        content = node.services.require(CONTENT)
        return {
            "read_states": await content.dms.read_states(user_id),
            "dm_channels": (await content.dms.list(user_id)).channels,
        }


plugin = ContentPlugin()
