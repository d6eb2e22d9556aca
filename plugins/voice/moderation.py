"""Voice moderation: server mute/deafen, move and disconnect, each a signed event (events.py) that
the communities rule book authorises (MUTE_MEMBERS, DEAFEN_MEMBERS, MOVE_MEMBERS in the channel)
and the mod log lists. The live effect on the call follows the committed event (Voice.on_events)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from cryb_node.events import Tx
from cryb_node.problems import Problem
from cryb_node.services import PERMISSIONS, Perm

from . import schemas as s
from .events import VoiceDeafen, VoiceMove, VoiceMute

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .rooms import Rooms


async def moderate(
    node: Node, rooms: Rooms, actor: str, channel_id: str, user_id: str, body: s.VoiceMemberPatch
) -> None:
    if body.mute is None and body.deaf is None and body.channel_id is None:
        raise Problem("invalid_field", 400, "say mute, deaf or channel_id", field="mute")
    needs = [
        (body.mute is not None, Perm.MUTE_MEMBERS),
        (body.deaf is not None, Perm.DEAFEN_MEMBERS),
        (body.channel_id is not None, Perm.MOVE_MEMBERS),
    ]
    access = await rooms.access(actor, channel_id, Perm.VIEW_CHANNEL)
    for wanted, perm in needs:
        if wanted and not access.has(perm):
            raise Problem("missing_permission", 403, f"this needs {perm.name} in the channel")
    perms = node.services.require(PERMISSIONS)
    if not await perms.is_member(user_id, access.community_id):
        raise Problem("not_found", 404, "member not found")
    if body.channel_id is not None:
        here = rooms.by_user.get(user_id)
        if here is None or here.channel_id != channel_id:
            raise Problem("not_in_voice", 404, "that member is not in this voice channel")
        dest = await rooms.access(actor, body.channel_id)  # the mover may connect there too
        if dest.community_id != access.community_id:
            raise Problem("not_found", 404, "channel not found")
        theirs = await perms.channel(user_id, body.channel_id)
        if theirs is None or not theirs.has(Perm.VIEW_CHANNEL) or not theirs.has(Perm.CONNECT):
            raise Problem("missing_permission", 403, "that member may not connect to the destination")
    cid, reason = access.community_id, body.reason

    def write(tx: Tx) -> None:
        payloads: list[tuple[str, msgspec.Struct]] = []
        if body.mute is not None:
            payloads.append(("voice.mute", VoiceMute(channel_id=channel_id, mute=body.mute, reason=reason)))
        if body.deaf is not None:
            payloads.append(
                ("voice.deafen", VoiceDeafen(channel_id=channel_id, deaf=body.deaf, reason=reason))
            )
        if body.channel_id is not None:
            payloads.append(
                ("voice.move", VoiceMove(channel_id=channel_id, to_channel_id=body.channel_id, reason=reason))
            )
        for kind, payload in payloads:
            tx.append(kind, payload, community=cid, author=actor, target=user_id)

    await node.events.transaction(write)


async def disconnect(
    node: Node, rooms: Rooms, actor: str, channel_id: str, user_id: str, reason: str
) -> None:
    access = await rooms.access(actor, channel_id, Perm.VIEW_CHANNEL)
    if not access.has(Perm.MOVE_MEMBERS):
        raise Problem("missing_permission", 403, "this needs MOVE_MEMBERS in the channel")
    here = rooms.by_user.get(user_id)
    if here is None or here.channel_id != channel_id:
        raise Problem("not_in_voice", 404, "that member is not in this voice channel")
    await node.events.append(
        "voice.move", VoiceMove(channel_id=channel_id, reason=reason),
        community=access.community_id, author=actor, target=user_id,
    )  # fmt: skip
