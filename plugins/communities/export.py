"""The communities plugin's part of a member's data export (communities.json), and the core's Places
service: channel and community names for the other plugins' exports."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import msgspec

from cryb_node.export import ExportSink
from cryb_node.services import Place

from . import queries

if TYPE_CHECKING:
    from cryb_node.node import Node

PAGE = 500


class PlaceNames:
    """The Places service, read from this plugin's projections."""

    def __init__(self, node: Node) -> None:
        self.node = node

    async def places(self, channel_ids: list[str]) -> dict[str, Place]:
        found: dict[str, Place] = {}
        ids = sorted(set(channel_ids))
        for i in range(0, len(ids), PAGE):
            chunk = ids[i : i + PAGE]
            found.update({p.channel_id: p for p in await queries.places(self.node.db, chunk)})
        return found

    async def role_names(self, role_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        ids = sorted(set(role_ids))
        for i in range(0, len(ids), PAGE):
            chunk = ids[i : i + PAGE]
            found.update(await queries.role_names(self.node.db, chunk))
        return found


class Membership(msgspec.Struct):
    community_id: str
    name: str
    joined_at: int  # ms
    owner: bool
    roles: list[str]  # role names
    timed_out_until: int | None


class Ban(msgspec.Struct):
    community_id: str
    name: str | None
    reason: str
    created_at: int


class Communities(msgspec.Struct):
    memberships: list[Membership]
    bans: list[Ban]


async def export_member(node: Node, user_id: str, sink: ExportSink) -> None:
    memberships = [
        Membership(
            community_id=r["community_id"],
            name=r["name"],
            joined_at=r["joined_at"],
            owner=bool(r["owner"]),
            roles=json.loads(r["roles"]),
            timed_out_until=r["timeout_until"],
        )
        for r in await queries.memberships_of(node.db, user_id)
    ]
    bans = [
        Ban(community_id=r["community_id"], name=r["name"], reason=r["reason"], created_at=r["created_at"])
        for r in await queries.bans_of(node.db, user_id)
    ]
    await sink.write_json("communities.json", Communities(memberships, bans))
    await sink.advance(len(memberships) + len(bans))
    sink.describe(
        "communities.json",
        "The communities you are a member of (when you joined, your roles) and any bans from a"
        " community, with the reason its moderators gave.",
    )
