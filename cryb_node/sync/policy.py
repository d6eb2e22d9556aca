"""Who may receive what. A peer receives a community's events only if it may hold them:

- a private community: only a peer hosting one of its members (or its home node);
- a private channel (one the public may not view): only a peer hosting a member allowed to read
  it (the communities plugin's Permissions service decides, overwrites included). That covers the
  channel's own governance (create, update, overwrites: ``target`` is the channel) as well as
  everything posted in it (``channel_id`` in the payload);
- a direct message: only the home nodes of its participants (DMs to remote users are delivered
  through their home).

Everything else replicates to every pinned peer: other nodes need a public community's governance
to check authority. Withheld events are left out whole (body and content), so nothing naming a
private community or channel reaches a peer that has no member there; reconciliation delivers
them once the peer becomes entitled (engine.py reacts to the governance events that may do so).
docs/federation.md ("What a peer receives") lists what does travel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from cryb_node.events import EventBody
from cryb_node.services import PERMISSIONS, Perm

from .wire import DMS_SCOPE, USERS_SCOPE

if TYPE_CHECKING:
    from cryb_node.node import Node

from .homes import community_home_of
from .vectors import Withhold

_decode_body = msgspec.msgpack.Decoder(EventBody).decode
CHANNEL_TARGETED = ("channel.", "overwrite.")  # governance kinds whose target is a channel

# Governance that may make a peer entitled to more of a community than before: a member joining,
# roles and their grants, overwrites and channel moves, the community going public, a hand-off.
ENTITLING_KINDS = frozenset(
    {
        "community.update",
        "community.home",
        "member.join",
        "member.unban",
        "role.create",
        "role.update",
        "role.delete",
        "role.assign",
        "channel.update",
        "overwrite.set",
        "overwrite.delete",
    }
)


@dataclass
class Entitlement:
    """What one peer may hold of one community."""

    node: Node
    community_id: str
    whole: bool  # the community itself (False: a private community with no member on the peer)
    members: list[str]  # the community's members homed on the peer
    _verdicts: dict[str, bool] = field(default_factory=dict)

    async def readable(self, channel_id: str) -> bool:
        """May the peer hold this channel's events? (Unknown channels: yes, nothing to protect.)"""
        if not self.whole:
            return False
        if channel_id not in self._verdicts:
            perms = self.node.services.get(PERMISSIONS)
            access = await perms.channel(None, channel_id) if perms is not None else None
            ok = access is None or access.has(Perm.VIEW_CHANNEL)
            for user_id in [] if ok or perms is None else self.members:
                assert perms is not None
                access = await perms.channel(user_id, channel_id)
                if access is not None and access.member and access.has(Perm.VIEW_CHANNEL):
                    ok = True
                    break
            self._verdicts[channel_id] = ok
        return self._verdicts[channel_id]

    async def withholds(self, body: bytes | None, content: bytes | None) -> bool:
        if not self.whole:
            return True
        ev = _decode_body(body) if body is not None else None
        if ev is not None and ev.kind.startswith(CHANNEL_TARGETED):
            channel = ev.target
        else:
            channel = _plain(content).get("channel_id")
        return isinstance(channel, str) and not await self.readable(channel)

    async def unreadable_channels(self) -> list[str]:
        """The community's channels (that we know of) the peer may not hold."""
        rows = await self.node.db.fetchall(
            "SELECT body FROM events WHERE community = ? AND kind = 'channel.create'", (self.community_id,)
        )
        ids = {_decode_body(bytes(r["body"])).target for r in rows}
        return sorted([c for c in ids if c is not None and not await self.readable(c)])


async def entitlement(node: Node, peer_key: bytes, community_id: str) -> Entitlement:

    members = [
        r["user_id"]
        for r in await node.db.fetchall(
            "SELECT m.user_id FROM community_members m JOIN sync_user_homes h ON h.user_id = m.user_id"
            " WHERE m.community_id = ? AND h.node_key = ?",
            (community_id, peer_key),
        )
    ]
    public = await node.db.fetchval("SELECT public FROM communities WHERE id = ?", (community_id,))
    whole = (
        public is None  # a community we cannot place (not projected here): nothing to protect
        or bool(public)
        or bool(members)
        or await community_home_of(node.db, community_id) == peer_key
    )
    return Entitlement(node, community_id, whole, members)


async def withhold_for(node: Node, peer_key: bytes, scope: str) -> Withhold | None:
    """A test for one session: should this event be kept from ``peer_key``?"""
    if scope == DMS_SCOPE:
        return await _dm_withhold(node, peer_key)
    if node.services.get(PERMISSIONS) is None or scope == USERS_SCOPE:
        return None
    return (await entitlement(node, peer_key, scope)).withholds


async def _dm_withhold(node: Node, peer_key: bytes) -> Withhold:
    """Keep a DM's events from a peer unless one of the DM's participants is homed there. Without
    its payload an event cannot be placed in a DM, so an erased one does not leave at all."""
    homed = {
        r["user_id"]
        for r in await node.db.fetchall("SELECT user_id FROM sync_user_homes WHERE node_key = ?", (peer_key,))
    }
    reaches: dict[str, bool] = {}  # DM channel -> has a participant homed on the peer
    rows = await node.db.fetchall(
        "SELECT e.body, c.content FROM events e JOIN event_content c ON c.event_id = e.id"
        " WHERE e.community IS NULL AND e.kind = 'dm.create'"
    )
    for r in rows:
        channel = _decode_body(bytes(r["body"])).target
        payload = _plain(r["content"])
        if channel is not None:
            reaches[channel] = bool(homed & set(payload.get("participants") or []))

    async def withhold(body: bytes | None, content: bytes | None) -> bool:
        payload = _plain(content)
        if "participants" in payload:  # the DM's create
            return not homed & set(payload["participants"] or [])
        channel = payload.get("channel_id")
        return not (isinstance(channel, str) and reaches.get(channel, False))

    return withhold


def _plain(content: bytes | None) -> dict:
    if content is None:
        return {}
    try:
        payload = msgspec.msgpack.decode(content)
    except msgspec.DecodeError:
        return {}
    return payload if isinstance(payload, dict) else {}
