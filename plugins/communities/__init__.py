"""The communities plugin: communities, channels, roles and permissions, membership and moderation.

It provides the core's Permissions and Automod services (cryb_node.services) that content, the
realtime gateway and search use, and CommunityDirectory (names, for the node admins' reports);
every change is a governance event (events.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import click
from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.db import Connection
from cryb_node.events import EventType, Projection
from cryb_node.export import ExportSink
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.realtime.protocol import Dispatcher
from cryb_node.scheduler import Job
from cryb_node.services import (
    AUTOMOD,
    BOT_MEMBERSHIP,
    COMMUNITY_DIRECTORY,
    INVITES,
    PERMISSIONS,
    PLACES,
    InviteStatus,
)

from . import export as data_export
from . import modlog_content, projection
from . import schemas as s
from .bot_members import BotMembershipService
from .directory import CommunityNames
from .dispatch import dispatchers
from .parts import EXTERNAL_POLL_S, PARTS, Parts
from .routes import routes
from .service import Actor, Communities
from .statehash import QUERIES
from .verdicts import CommunityAuthority

# READY lists this many of the user's communities (the web UI asks for the same page).
READY_COMMUNITIES = 200


@dataclass
class _InviteCheck:
    """The Invites service: a view on Communities.invite_status."""

    communities: Communities

    async def lookup(self, code: str) -> InviteStatus | None:
        return await self.communities.invite_status(code)


class CommunitiesPlugin(Plugin):
    name = "communities"

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def event_types(self) -> Iterable[EventType]:
        return projection.event_types()

    def authority(self, node: Node) -> CommunityAuthority:
        return CommunityAuthority(node)

    def projections(self) -> Mapping[str, Projection]:
        # A moderator removing content is a content event; its mod log entry is written with it.
        return {"content.moderate": modlog_content.project}

    def clear_community(self, conn: Connection, community_id: str) -> None:
        modlog_content.clear(conn, community_id)

    def routes(self, api: Api, node: Node) -> None:
        routes(api, node)

    def setup(self, node: Node) -> None:
        p = Parts.make(node)
        node.services.provide(PARTS, p)
        node.services.provide(PERMISSIONS, p.perms)
        node.services.provide(AUTOMOD, p.automod)
        node.services.provide(PLACES, data_export.PlaceNames(node))
        node.services.provide(COMMUNITY_DIRECTORY, CommunityNames(node.db, p.perms))
        node.services.provide(INVITES, _InviteCheck(p.communities))
        node.services.provide(BOT_MEMBERSHIP, BotMembershipService(p.communities))

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        p = node.services.require(PARTS)
        unlisten = node.bus.listen(p.on_events)
        await p.notice_external(node)
        try:
            yield
        finally:
            unlisten()

    def jobs(self, node: Node) -> Iterable[Job]:
        async def poll() -> None:
            await node.services.require(PARTS).notice_external(node)

        yield Job("communities.external", poll, IntervalTrigger(seconds=EXTERNAL_POLL_S))

    def dispatchers(self, node: Node) -> Mapping[str, Dispatcher]:
        return dispatchers(node.services.require(PARTS).communities)

    async def gateway_ready(self, node: Node, user_id: str) -> Mapping[str, Any]:
        """The user's communities and, for each, the channels they may view as a member (a node
        admin's override is for the HTTP API, not the sidebar): the client starts from these
        instead of asking per community."""
        svc, me = node.services.require(PARTS).communities, Actor(user_id)
        mine = (await svc.list(me, s.CommunityQuery(mine=True, limit=READY_COMMUNITIES))).communities
        channels = [ch for c in mine for ch in (await svc.channels(me, c.id)).channels]
        return {"communities": mine, "channels": channels}

    def state_queries(self) -> Mapping[str, str]:

        return QUERIES

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        await data_export.export_member(node, user_id, sink)

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        # An invite code is a bearer credential: whoever holds it may join a private community.
        return {"community_invites": ("code",)}

    def cli(self) -> list[click.Command]:
        from .cli import community, mod

        return [community, mod]


plugin = CommunitiesPlugin()
