"""Who may receive what: a private channel's events go only to peers hosting a member allowed to
read it (the communities plugin's Permissions service decides, overwrites included). Governance
events always replicate: every node needs them to check authority. A direct message's events go
only to the home nodes of its participants (DMs to remote users are delivered through their home).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cryb_node.events import EventBody
from cryb_node.services import Perm, Permissions

from .wire import DMS_SCOPE, USERS_SCOPE

if TYPE_CHECKING:
    from cryb_node.node import Node

from .vectors import Withhold


async def withhold_for(node: Node, peer_key: bytes, scope: str) -> Withhold | None:
    """A test for one session: should this event's content be kept from ``peer_key``?"""
    if scope == DMS_SCOPE:
        return await _dm_withhold(node, peer_key)
    perms = node.services.get(Permissions)  # type: ignore[type-abstract]
    if perms is None or scope == USERS_SCOPE:
        return None
    homed = [
        r[0]
        for r in await node.db.fetchall("SELECT user_id FROM sync_user_homes WHERE node_key = ?", (peer_key,))
    ]
    verdicts: dict[str, bool] = {}

    async def readable(channel_id: str) -> bool:
        if channel_id not in verdicts:
            access = await perms.channel(None, channel_id)
            ok = access is None or access.has(Perm.VIEW_CHANNEL)
            if not ok:
                for user_id in homed:
                    access = await perms.channel(user_id, channel_id)
                    if access is not None and access.member and access.has(Perm.VIEW_CHANNEL):
                        ok = True
                        break
            verdicts[channel_id] = ok
        return verdicts[channel_id]

    async def withhold(content: bytes | None) -> bool:
        if content is None:
            return False
        try:
            payload = msgspec.msgpack.decode(content)
        except msgspec.DecodeError:
            return False
        channel = payload.get("channel_id") if isinstance(payload, dict) else None
        return isinstance(channel, str) and not await readable(channel)

    return withhold


async def _dm_withhold(node: Node, peer_key: bytes) -> Withhold:
    """Keep a DM's events from a peer unless one of the DM's participants is homed there. Without
    its payload an event cannot be placed in a DM, so an erased one does not leave at all."""
    homed = {
        r[0]
        for r in await node.db.fetchall("SELECT user_id FROM sync_user_homes WHERE node_key = ?", (peer_key,))
    }
    reaches: dict[str, bool] = {}  # DM channel -> has a participant homed on the peer
    rows = await node.db.fetchall(
        "SELECT e.body, c.content FROM events e JOIN event_content c ON c.event_id = e.id"
        " WHERE e.community IS NULL AND e.kind = 'dm.create'"
    )
    for body, content in rows:
        channel = msgspec.msgpack.decode(bytes(body), type=EventBody).target
        payload = _plain(content)
        if channel is not None:
            reaches[channel] = bool(homed & set(payload.get("participants") or []))

    async def withhold(content: bytes | None) -> bool:
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
