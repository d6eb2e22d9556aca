"""The voice plugin's event kinds: moderation of a member in voice (server mute, deafen, move and
disconnect). Each names the voice channel the member was moderated in, which the communities rule
book checks MUTE_MEMBERS / DEAFEN_MEMBERS / MOVE_MEMBERS against, and appears in the mod log.
Body: community=<community>, author=<moderator>, target=<member>."""

from __future__ import annotations

from typing import Annotated

import msgspec

from cryb_node.db import Connection
from cryb_node.events import Event, EventType
from cryb_node.refusals import refused

Reason = Annotated[str, msgspec.Meta(max_length=512)]


class VoiceMute(msgspec.Struct, kw_only=True, omit_defaults=True):
    channel_id: str
    mute: bool
    reason: Reason = ""


class VoiceDeafen(msgspec.Struct, kw_only=True, omit_defaults=True):
    channel_id: str
    deaf: bool
    reason: Reason = ""


class VoiceMove(msgspec.Struct, kw_only=True, omit_defaults=True):
    channel_id: str  # where the member was
    to_channel_id: str | None = None  # None: disconnected
    reason: Reason = ""


def _set(conn: Connection, ev: Event, column: str, value: bool) -> None:
    b = ev.body
    if b.community is None or b.target is None or refused(conn, ev.id):
        return
    conn.execute(
        f"INSERT INTO voice_server_state (community_id, user_id, {column}, {column}_hlc) VALUES (?, ?, ?, ?)"
        f" ON CONFLICT (community_id, user_id) DO UPDATE SET {column} = excluded.{column},"
        f" {column}_hlc = excluded.{column}_hlc WHERE excluded.{column}_hlc > {column}_hlc",
        (b.community, b.target, int(value), b.hlc),
    )


def _mute(conn: Connection, ev: Event) -> None:
    _set(conn, ev, "mute", ev.payload.mute)


def _deafen(conn: Connection, ev: Event) -> None:
    _set(conn, ev, "deaf", ev.payload.deaf)


def event_types() -> list[EventType]:
    return [
        EventType("voice.mute", VoiceMute, _mute),
        EventType("voice.deafen", VoiceDeafen, _deafen),
        EventType("voice.move", VoiceMove, None),
    ]
