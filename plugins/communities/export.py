"""The communities plugin's part of a member's data export (communities.json), and the core's Places
service: channel and community names for the other plugins' exports."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import msgspec

from cryb_node.export import ExportSink
from cryb_node.services import Place

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
            marks = ",".join("?" * len(chunk))
            rows = await self.node.db.fetchall(
                "SELECT ch.id, ch.name, ch.community_id, c.name FROM community_channels ch"
                f" LEFT JOIN communities c ON c.id = ch.community_id WHERE ch.id IN ({marks})",
                chunk,
            )
            for r in rows:
                found[r[0]] = Place(
                    channel_id=r[0], channel_name=r[1], community_id=r[2], community_name=r[3]
                )
        return found

    async def role_names(self, role_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        ids = sorted(set(role_ids))
        for i in range(0, len(ids), PAGE):
            chunk = ids[i : i + PAGE]
            marks = ",".join("?" * len(chunk))
            rows = await self.node.db.fetchall(
                f"SELECT id, name FROM community_roles WHERE id IN ({marks})", chunk
            )
            found.update({r[0]: r[1] for r in rows})
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
    db = node.db
    rows = await db.fetchall(
        "SELECT m.community_id, c.name, m.joined_at, c.owner_id = m.user_id, m.timeout_until,"
        " (SELECT json_group_array(r.name) FROM community_member_roles mr JOIN community_roles r"
        "   ON r.id = mr.role_id WHERE mr.community_id = m.community_id AND mr.user_id = m.user_id)"
        " FROM community_members m JOIN communities c ON c.id = m.community_id"
        " WHERE m.user_id = ? AND c.deleted = 0 ORDER BY m.joined_at",
        (user_id,),
    )
    memberships = [Membership(r[0], r[1], r[2], bool(r[3]), json.loads(r[5]), r[4]) for r in rows]
    bans = [
        Ban(r[0], r[1], r[2], r[3])
        for r in await db.fetchall(
            "SELECT b.community_id, c.name, b.reason, b.created_at FROM community_bans b"
            " LEFT JOIN communities c ON c.id = b.community_id WHERE b.user_id = ? ORDER BY b.created_at",
            (user_id,),
        )
    ]
    await sink.write_json("communities.json", Communities(memberships, bans))
    await sink.advance(len(memberships) + len(bans))
    sink.describe(
        "communities.json",
        "The communities you are a member of (when you joined, your roles) and any bans from a"
        " community, with the reason its moderators gave.",
    )
