"""The communities plugin: communities, channels, roles and permissions, membership and moderation.

It provides the core's Permissions and Automod services (cryb_node.services) that content, the
realtime gateway and search use, and CommunityDirectory (names, for the node admins' reports);
every change is a governance event (events.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import click
from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.db import Connection
from cryb_node.events import Event, EventType, Projection
from cryb_node.export import ExportSink
from cryb_node.gateway.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin
from cryb_node.realtime.protocol import Dispatcher
from cryb_node.scheduler import Job
from cryb_node.services import Automod, CommunityDirectory, Invites, InviteStatus, Permissions, Places

from . import events, modlog_content
from . import export as data_export
from . import schemas as s
from .access import PermissionService
from .automod import AutomodService
from .directory import CommunityNames
from .moderation import Moderation
from .service import Actor, Communities
from .verdicts import CommunityAuthority

# Events written by another process (the CLI against the same database) reach the cache this fast.
EXTERNAL_POLL_S = 2.0
# READY lists this many of the user's communities (the web UI asks for the same page).
READY_COMMUNITIES = 200


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
            self.external_pos = await node.db.fetchval("SELECT coalesce(max(pos), 0) FROM events")
            return
        marks = ",".join("?" * len(events.KINDS))
        rows = await node.db.fetchall(
            f"SELECT pos, community FROM events WHERE pos > ? AND kind IN ({marks}) ORDER BY pos",
            (self.external_pos, *events.KINDS),
        )
        if rows:
            self.perms.invalidate({r[1] for r in rows if r[0] not in self.own and r[1]})
            self.external_pos = rows[-1][0]
        self.own = {p for p in self.own if p > self.external_pos}


def parts(node: Node) -> Parts:
    """The node's Parts, made on first use (routes are built before the node opens its database)."""
    found = node.services.get(Parts)
    if found is None:
        perms = PermissionService(node)
        communities = Communities(node, perms)
        moderation = Moderation(communities)
        found = Parts(perms, communities, moderation, AutomodService(communities, moderation))
        node.services.provide(Parts, found)
    return found


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
        return events.event_types()

    def authority(self, node: Node) -> CommunityAuthority:
        return CommunityAuthority(node)

    def projections(self) -> Mapping[str, Projection]:
        # A moderator removing content is a content event; its mod log entry is written with it.
        return {"content.moderate": modlog_content.project}

    def clear_community(self, conn: Connection, community_id: str) -> None:
        modlog_content.clear(conn, community_id)

    def routes(self, api: Api, node: Node) -> None:
        from .routes import routes

        p = parts(node)
        routes(api, p.communities, p.moderation, p.automod)

    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        p = parts(node)
        node.services.provide(Permissions, p.perms)  # type: ignore[type-abstract]
        node.services.provide(Automod, p.automod)  # type: ignore[type-abstract]
        node.services.provide(Places, data_export.PlaceNames(node))  # type: ignore[type-abstract]
        node.services.provide(CommunityDirectory, CommunityNames(node.db, p.perms))  # type: ignore[type-abstract]
        node.services.provide(Invites, _InviteCheck(p.communities))  # type: ignore[type-abstract]
        unlisten = node.bus.listen(p.on_events)
        await p.notice_external(node)
        try:
            yield
        finally:
            unlisten()

    def jobs(self, node: Node) -> Iterable[Job]:
        async def poll() -> None:
            await parts(node).notice_external(node)

        yield Job("communities.external", poll, IntervalTrigger(seconds=EXTERNAL_POLL_S))

    def dispatchers(self, node: Node) -> Mapping[str, Dispatcher]:
        from .dispatch import dispatchers

        return dispatchers(parts(node).communities)

    async def gateway_ready(self, node: Node, user_id: str) -> Mapping[str, Any]:
        """The user's communities and, for each, the channels they may view as a member (a node
        admin's override is for the HTTP API, not the sidebar): the client starts from these
        instead of asking per community."""
        svc, me = parts(node).communities, Actor(user_id)
        mine = (await svc.list(me, s.CommunityQuery(mine=True, limit=READY_COMMUNITIES))).communities
        channels = [ch for c in mine for ch in (await svc.channels(me, c.id)).channels]
        return {"communities": mine, "channels": channels}

    def state_queries(self) -> Mapping[str, str]:
        from .statehash import QUERIES

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
