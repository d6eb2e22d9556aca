"""Voice moderation in the community mod log: the voice plugin's ``voice.mute``, ``voice.deafen`` and
``voice.move`` events (server mute/deafen, move, disconnect) become entries through
Plugin.projections, in the event's own transaction, like content moderation (modlog_content.py)."""

from __future__ import annotations

import json

from cryb_node.clock import wall_ms
from cryb_node.db import Connection
from cryb_node.events import Event, Projection
from cryb_node.refusals import refused

ACTIONS = ("voice_mute", "voice_unmute", "voice_deafen", "voice_undeafen", "voice_move", "voice_disconnect")


def _action(ev: Event) -> tuple[str, dict[str, str]] | None:
    p = ev.payload
    if p is None:
        return None
    if ev.body.kind == "voice.mute":
        return ("voice_mute" if p.mute else "voice_unmute"), {"channel_id": p.channel_id}
    if ev.body.kind == "voice.deafen":
        return ("voice_deafen" if p.deaf else "voice_undeafen"), {"channel_id": p.channel_id}
    if ev.body.kind == "voice.move":
        if p.to_channel_id is None:
            return "voice_disconnect", {"channel_id": p.channel_id}
        return "voice_move", {"channel_id": p.channel_id, "to_channel_id": p.to_channel_id}
    return None


def project(conn: Connection, ev: Event) -> None:
    b = ev.body
    found = _action(ev)
    if b.community is None or found is None or refused(conn, ev.id):
        return
    action, details = found
    conn.execute(
        "INSERT OR REPLACE INTO community_modlog (event_id, community_id, hlc, created_at, actor_id,"
        " action, target_id, reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ev.id, b.community, b.hlc, wall_ms(b.hlc), b.author, action, b.target,
            getattr(ev.payload, "reason", "") or "", json.dumps(details, sort_keys=True),
        ),
    )  # fmt: skip


def clear(conn: Connection, community_id: str) -> None:
    """The rows ``project`` made for one community: a rebuild applies the allowed events again."""
    marks = ",".join("?" * len(ACTIONS))
    conn.execute(
        f"DELETE FROM community_modlog WHERE community_id = ? AND action IN ({marks})",
        (community_id, *ACTIONS),
    )


PROJECTIONS: dict[str, Projection] = {kind: project for kind in ("voice.mute", "voice.deafen", "voice.move")}
