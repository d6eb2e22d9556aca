"""The happenings plugin's part of a member's data export: the events they planned and their answers."""

from __future__ import annotations

import msgspec

from cryb_node.db import Database
from cryb_node.export import ExportSink

from . import queries
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
    planned = await queries.planned_by(db, user_id)
    answers = await queries.answers_by(db, user_id)
    out = ScheduledEvents(
        [
            Planned(id=r["id"], community_id=r["community_id"], title=r["title"],
                    description=r["description"], start=iso_utc(r["start_ms"]), time_zone=r["time_zone"],
                    cancelled=bool(r["cancelled"]))
            for r in planned
        ],
        [
            Answered(event_id=r["event_id"], community_id=r["community_id"], title=r["title"],
                     status=r["status"])
            for r in answers
        ],
    )  # fmt: skip
    await sink.write_json("scheduled_events.json", out)
    await sink.advance(len(planned) + len(answers) or 1)
    sink.describe(
        "scheduled_events.json",
        "The community events you planned (start in UTC, with the time zone you planned them in) and"
        " your answers to events (going or interested).",
    )
