"""The happenings plugin's part of a member's data export: the events they planned and their answers."""

from __future__ import annotations

import msgspec

from cryb_node.db import Database
from cryb_node.export import ExportSink

from .service import iso_utc


class Planned(msgspec.Struct):
    id: str
    community_id: str
    title: str
    description: str
    start: str
    time_zone: str
    cancelled: bool


class Answered(msgspec.Struct):
    event_id: str
    community_id: str
    title: str | None  # None: the event is not (or no longer) on this node
    status: str


class ScheduledEvents(msgspec.Struct):
    planned: list[Planned]
    answers: list[Answered]


async def export_member(db: Database, user_id: str, sink: ExportSink) -> None:
    planned = await db.fetchall(
        "SELECT id, community_id, title, description, start_ms, time_zone, cancelled FROM hap_events"
        " WHERE creator_id = ? AND created = 1 ORDER BY start_ms, id",
        (user_id,),
    )
    answers = await db.fetchall(
        "SELECT r.event_id, r.community_id, v.title, r.status FROM hap_rsvps r LEFT JOIN hap_events v"
        " ON v.id = r.event_id AND v.community_id = r.community_id AND v.created = 1"
        " WHERE r.user_id = ? AND r.status != 'none' ORDER BY r.hlc",
        (user_id,),
    )
    out = ScheduledEvents(
        [Planned(r[0], r[1], r[2], r[3], iso_utc(r[4]), r[5], bool(r[6])) for r in planned],
        [Answered(*r) for r in answers],
    )
    await sink.write_json("scheduled_events.json", out)
    await sink.advance(len(planned) + len(answers) or 1)
    sink.describe(
        "scheduled_events.json",
        "The community events you planned (start in UTC, with the time zone you planned them in) and"
        " your answers to events (going or interested).",
    )
