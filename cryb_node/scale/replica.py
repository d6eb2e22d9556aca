"""The edge's side: apply the primary's stream to this node's own database, in stream order, through
the same projection code the primary ran (EventLog.project), and hand what was applied to the bus
(realtime dispatch, the search index) exactly as a local commit would.

Each event keeps the primary's log position, so positions, the bus's offsets and the primary's
``Cryb-Log-Position`` answers mean the same thing here. The last applied stream sequence is stored in
the same transaction as the events (consumer_offsets ``scale.stream``): a restart resumes exactly
there. A new edge starts from a snapshot of the primary (`cryb scale snapshot`); it finds where to
join the stream by looking for the first message past the snapshot's last position."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import TYPE_CHECKING

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from cryb_node.db import Connection
from cryb_node.events import Event, InvalidEvent, verify
from cryb_node.identity import verify_log_cert

from . import wire
from .nats_link import NatsLink

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)
OFFSET = "scale.stream"
BATCH = 256


class StreamGap(RuntimeError):
    """The stream no longer holds the events after this replica's last position."""


class Replica:
    def __init__(self, node: Node) -> None:
        self.node = node
        cfg = node.config.scale
        self.stream = cfg.stream
        self.subject = wire.subject(cfg.stream)
        self.link = NatsLink(cfg.nats_url, f"cryb-edge:{node.config.node.name}")
        self.seq = 0  # last stream sequence applied
        self.stream_last = 0  # the stream's last sequence when last asked
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._applied = asyncio.Condition()

    @property
    def position(self) -> int:
        """The primary's log position this replica has applied up to."""
        return self.node.events.length

    async def start(self) -> None:
        self.seq = await self.node.db.fetchval(
            "SELECT pos FROM consumer_offsets WHERE name = ?", (OFFSET,), default=0
        )
        await self.link.start()
        self._task = asyncio.create_task(self._run(), name="scale:replica")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.link.stop()

    async def wait_for(self, pos: int, timeout: float) -> bool:
        """Wait until the replica has applied the primary's log up to ``pos``; False on timeout."""
        if self.position >= pos:
            return True
        async with self._applied:
            try:
                await asyncio.wait_for(self._applied.wait_for(lambda: self.position >= pos), timeout)
            except TimeoutError:
                return False
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self.link.wait_connected()
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.last_error = f"{type(err).__name__}: {err}"
                log.warning("following the stream failed (retrying)", extra={"fields": {"error": str(err)}})
                await asyncio.sleep(0.5)

    async def _start_seq(self) -> int:
        """The stream sequence to read next: after the stored one if that message still carries our
        last position, else the first message past our position, found by bisection (a fresh edge
        from a snapshot, or a stream the primary had to fill again)."""
        js = self.link.js
        info = await js.stream_info(self.stream)
        first, last = info.state.first_seq, info.state.last_seq
        self.stream_last = last
        pos = self.position

        async def pos_at(seq: int) -> int:
            msg = await js.get_msg(self.stream, seq)
            return int((msg.headers or {}).get(wire.POS_HEADER, "0"))

        if self.seq and first <= self.seq <= last and await pos_at(self.seq) == pos:
            return self.seq + 1
        lo, hi = first, last + 1  # the first seq whose position is past ours lies in [lo, hi]
        while lo < hi:
            mid = (lo + hi) // 2
            if await pos_at(mid) <= pos:
                lo = mid + 1
            else:
                hi = mid
        if lo == first and lo <= last and pos > 0 and await pos_at(first) > pos + 1:
            # the stream's history does not reach back to our position (it was trimmed)
            raise StreamGap(f"the stream starts past position {pos}: start this edge from a new snapshot")
        self.seq = lo - 1
        return lo

    async def _follow(self) -> None:
        try:
            start = await self._start_seq()
        except NotFoundError:
            self.last_error = "the primary has not created the stream yet"
            await asyncio.sleep(0.5)
            return
        self.seq = start - 1
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,  # our position is stored with the events, not in NATS
            inactive_threshold=60.0,
        )
        sub = await self.link.js.pull_subscribe(self.subject, stream=self.stream, config=config)
        try:
            self.last_error = None
            while True:
                try:
                    msgs = await sub.fetch(BATCH, timeout=1.0)
                except TimeoutError:
                    info = await self.link.js.stream_info(self.stream)  # also proves the link is alive
                    self.stream_last = info.state.last_seq
                    if self.stream_last > self.seq:
                        return  # behind yet nothing came: the consumer is gone, make a new one
                    continue
                await self._apply(msgs)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _apply(self, msgs: list) -> None:
        items: list[tuple[int, wire.StreamEvent]] = []
        for m in msgs:
            seq = m.metadata.sequence.stream
            if seq <= self.seq:
                continue
            if seq != self.seq + 1 + len(items):
                raise RuntimeError(f"stream sequence {seq} out of order after {self.seq}")
            items.append((seq, wire.decode(m.data)))
        if not items:
            return
        checked = await asyncio.to_thread(_verify_all, [ev for _, ev in items])
        last_seq = items[-1][0]
        applied = await self.node.db.write(lambda conn: self._write(conn, checked, last_seq))
        self.seq = last_seq
        # an event the primary moved (filled skeleton) projects nothing new but still counts as applied
        self.node.events.length = max(self.node.events.length, checked[-1][0].pos)
        self.stream_last = max(self.stream_last, last_seq)
        async with self._applied:
            self._applied.notify_all()
        if applied:
            log.debug("applied %d event(s) from the stream", applied)

    def _write(self, conn: Connection, checked: list, last_seq: int) -> int:
        """One transaction: every event of the batch, and the stream position (writer thread)."""
        log_ = self.node.events
        now = int(self.node.clock.time())
        published: list[Event] = []
        for ev, body in checked:
            if conn.execute("SELECT 1 FROM events WHERE pos = ?", (ev.pos,)).fetchone():
                continue  # applied before (a redelivery)
            if ev.node_key is not None and ev.cert is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO log_keys (origin, node_key, cert, created_at) VALUES (?, ?, ?, ?)",
                    (body.origin, ev.node_key, ev.cert, now),
                )
            stored = _store(conn, log_, ev, body, now)
            if stored is not None:
                published.append(stored)
        conn.execute(
            "INSERT INTO consumer_offsets (name, pos, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET pos = excluded.pos, updated_at = excluded.updated_at",
            (OFFSET, last_seq, now),
        )
        log_.publish_ingested(published)
        return len(published)

    def status(self) -> tuple[bool, str]:
        ok, detail = self.link.status()
        if ok and self.last_error:
            ok, detail = False, self.last_error
        lag = max(0, self.stream_last - self.seq)
        return ok, f"{detail}; applied up to position {self.position}, {lag} message(s) behind"


def _verify_all(events: list[wire.StreamEvent]) -> list:
    """Each event's signature and content hash, and its origin's certificate (worker thread)."""
    out = []
    for ev in events:
        body = verify(ev.body, ev.sig, ev.content)
        if (
            ev.node_key is not None
            and ev.cert is not None
            and not verify_log_cert(ev.node_key, body.origin, ev.cert)
        ):
            raise InvalidEvent(f"position {ev.pos}: bad log key certificate")
        out.append((ev, body))
    return out


def _store(conn: Connection, log_, ev: wire.StreamEvent, body, now: int) -> Event | None:
    """Store one of the primary's events at the primary's position and project it (writer thread);
    ``now``: when it was received, in unix seconds."""
    event_id = hashlib.sha256(ev.body).digest()
    held = conn.execute("SELECT pos FROM events WHERE id = ?", (event_id,)).fetchone()
    payload = log_.registry.decode_payload(body.kind, ev.content)
    if held is not None:
        # The primary moved it to the end of its log when its payload arrived (EventLog._fill_skeleton).
        if (
            ev.content is None
            or conn.execute("SELECT 1 FROM event_content WHERE event_id = ?", (event_id,)).fetchone()
        ):
            conn.execute("UPDATE events SET pos = ? WHERE id = ?", (ev.pos, event_id))
            return None
        conn.execute("UPDATE events SET pos = ? WHERE id = ?", (ev.pos, event_id))
        conn.execute("INSERT INTO event_content (event_id, content) VALUES (?, ?)", (event_id, ev.content))
        return log_.project(conn, Event(pos=ev.pos, id=event_id, body=body, payload=payload))
    conn.execute(
        "INSERT INTO events (pos, id, origin, seq, hlc, community, kind, body, sig, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ev.pos, event_id, body.origin, body.seq, body.hlc, body.community, body.kind, ev.body, ev.sig, now),
    )  # fmt: skip
    if ev.content is not None:
        conn.execute("INSERT INTO event_content (event_id, content) VALUES (?, ?)", (event_id, ev.content))
    conn.execute(
        "INSERT INTO log_heads (origin, seq, event_id, hlc) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq, event_id = excluded.event_id,"
        " hlc = excluded.hlc WHERE excluded.seq > log_heads.seq",
        (body.origin, body.seq, event_id, body.hlc),
    )
    return log_.project(conn, Event(pos=ev.pos, id=event_id, body=body, payload=payload))
