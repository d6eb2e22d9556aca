"""A small plugin used by the tests: one of each hook (route, migration, projection, bus subscriber,
scheduled job, CLI command, readiness), loaded the way third-party plugins are.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

import click
import msgspec
from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.backfill import Backfill
from cryb_node.bus import Subscription
from cryb_node.clock import new_id
from cryb_node.command import run_with_node
from cryb_node.db import Connection
from cryb_node.events import Event, EventType
from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.plugins import Plugin, Readiness
from cryb_node.problems import not_found
from cryb_node.realtime.protocol import Dispatch
from cryb_node.scheduler import Job


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    subscribe: bool = True
    backfill_batch: Annotated[int, msgspec.Meta(ge=1)] = 500
    backfill_pause_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    job_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    ready: bool = True


class Note(msgspec.Struct):
    id: str
    text: str


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class NoteOut(msgspec.Struct):
    id: str
    text: str
    pos: int


class NoteList(msgspec.Struct):
    notes: list[Note]


class ListQuery(msgspec.Struct, forbid_unknown_fields=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 50


def apply_note(conn: Connection, ev: Event) -> None:
    note: Note = ev.payload
    conn.execute(
        "INSERT INTO demo_notes (id, text, author, hlc) VALUES (?, ?, ?, ?)",
        (note.id, note.text, ev.body.author, ev.body.hlc),
    )


def tally(conn: Connection, events: list[Event]) -> None:
    conn.executemany("INSERT INTO demo_tally_seen (event_id) VALUES (?)", [(e.id,) for e in events])


class DemoPlugin(Plugin):
    name = "demo"
    config_type = Settings

    def migrations(self):
        return resources.files(__package__) / "migrations"

    def event_types(self):
        return [EventType("demo.note", Note, apply_note)]

    def routes(self, api: Api, node: Node) -> None:
        @api.route("POST", "/api/v1/demo/notes", body=NoteIn, response=NoteOut, status=201, bucket="demo")
        async def create_note(call: Call) -> NoteOut:
            """Write a note (an event)."""
            note = Note(new_id(), call.body.text)
            author = call.principal.user_id if call.principal else None
            ev = await node.events.append("demo.note", note, author=author)
            return NoteOut(note.id, note.text, ev.pos)

        @api.route("GET", "/api/v1/demo/notes/{note_id}", response=Note)
        async def get_note(call: Call) -> Note:
            """Read one note."""
            row = await node.db.fetchone(
                "SELECT id, text FROM demo_notes WHERE id = ?", (call.path("note_id"),)
            )
            if row is None:
                raise not_found("note")
            return Note(row[0], row[1])

        @api.route("GET", "/api/v1/demo/notes", query=ListQuery, response=NoteList)
        async def list_notes(call: Call) -> NoteList:
            """List notes, newest first."""
            rows = await node.db.fetchall(
                "SELECT id, text FROM demo_notes ORDER BY hlc DESC LIMIT ?", (call.query.limit,)
            )
            return NoteList([Note(r[0], r[1]) for r in rows])

    def dispatchers(self, node: Node):
        # Notes go to their author's own gateway sessions (exercises the realtime core on its own).
        def note_created(ev: Event) -> Dispatch | None:
            if ev.body.author is None:
                return None
            return Dispatch("NOTE_CREATE", ev.payload, users=frozenset({ev.body.author}))

        return {"demo.note": note_created}

    def subscriptions(self, node: Node):
        if node.settings("demo").subscribe:
            yield Subscription("demo.tally", handle_in_tx=tally, kinds=frozenset({"demo.note"}))

    def backfills(self, node: Node):
        settings = node.settings("demo")

        def fill_lengths(conn: Connection) -> int:
            cur = conn.execute(
                "UPDATE demo_notes SET length = length(text) WHERE id IN"
                " (SELECT id FROM demo_notes WHERE length IS NULL LIMIT ?)",
                (settings.backfill_batch,),
            )
            return cur.rowcount

        yield Backfill("demo.note_length", fill_lengths, pause_s=settings.backfill_pause_s)

    def jobs(self, node: Node):
        async def tick() -> None:
            await node.db.write(lambda conn: conn.execute("INSERT INTO demo_ticks DEFAULT VALUES"))

        yield Job("demo.tick", tick, IntervalTrigger(seconds=node.settings("demo").job_interval_s))

    async def readiness(self, node: Node) -> Readiness:
        ok = node.settings("demo").ready
        return Readiness(ok, "demo is fine" if ok else "demo says not ready")

    def cli(self) -> click.Command:
        @click.group("demo")
        def group() -> None:
            """Demo plugin commands."""

        @group.command("count")
        @click.pass_obj
        def count(settings) -> None:
            """Print how many notes exist."""
            cfg = settings.config()

            async def go(node: Node) -> int:
                return await node.db.fetchval("SELECT count(*) FROM demo_notes")

            click.echo(run_with_node(cfg, settings.plugins(cfg), go))

        return group


plugin = DemoPlugin()
