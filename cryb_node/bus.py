"""In-process pub/sub over the event log, with durable consumer offsets.

Durable consumers read the log from their stored offset, so one that was down gets every event it
missed. A consumer with ``handle`` is at-least-once (the offset is stored after the handler returns);
one with ``handle_in_tx`` is exactly-once (its writes and the new offset commit in one transaction).
Live listeners (the realtime gateway) get events straight from memory as they commit.

The bus keeps the newest committed events in memory (the tail), so consumers that keep up take their
batches from there instead of each reading the same rows back from the database; a consumer that fell
behind the tail (after a restart, or a slow handler) reads the log from disk until it catches up.

Other processes append to the same log (a `cryb` CLI command beside `cryb serve`). A watcher on its
own read connection asks SQLite every POLL_S whether anyone else committed (``PRAGMA data_version``,
a read of the shared WAL index, no I/O) and, when the log grew past what this process wrote, has
the event log publish those events: they reach consumers and listeners within a poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryb_node.clock import Clock
from cryb_node.db import Connection, Database, DatabaseError, connect
from cryb_node.events import SELECT_EVENTS, Event, EventLog, decode_row

log = logging.getLogger(__name__)
OFFSET_EVERY_S = 2.0
TAIL_EVENTS = 4096
POLL_S = 0.1  # how often the watcher looks for other processes' commits


@dataclass(frozen=True)
class Subscription:
    name: str
    handle: Callable[[list[Event]], Awaitable[None]] | None = None
    handle_in_tx: Callable[[Connection, list[Event]], None] | None = None
    # Only these kinds are handed over (the offset still advances past the others).
    kinds: frozenset[str] | None = None
    batch_size: int = 256
    # Seconds to wait after being woken, and after each batch that was not full, before reading
    # again: a burst or a steady trickle is handled in batches (for costly, not urgent consumers
    # such as the search index, whose cost is per batch more than per event).
    linger_s: float = 0.0
    # Also hand over refused events (``ev.refused`` set; nobody else sees them): for a consumer that
    # keeps its own position in the log and must see it pass them (the search index's offset).
    refused: bool = False

    def __post_init__(self) -> None:
        if (self.handle is None) == (self.handle_in_tx is None):
            raise ValueError(f"subscription {self.name}: give exactly one of handle, handle_in_tx")


def _store_offset(conn: Connection, name: str, pos: int, now: float) -> None:
    conn.execute(
        "INSERT INTO consumer_offsets (name, pos, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET pos = excluded.pos, updated_at = excluded.updated_at",
        (name, pos, int(now)),
    )


class Consumer:
    def __init__(self, sub: Subscription, bus: Bus) -> None:
        self.sub = sub
        self.bus = bus
        self.offset = 0
        self._stored = 0  # the offset last written to consumer_offsets
        self._stored_at = 0.0
        self.failures = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def lag(self) -> int:
        return max(0, self.bus.log.length - self.offset)

    async def start(self) -> None:
        db = self.bus.db
        self.offset = self._stored = await db.fetchval(
            "SELECT pos FROM consumer_offsets WHERE name = ?", (self.sub.name,), default=0
        )
        self._task = asyncio.create_task(self._run(), name=f"consumer:{self.sub.name}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            try:
                await self._persist()
            except Exception:
                log.exception("consumer %s: could not store its offset at stop", self.sub.name)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                read = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.failures += 1
                self.last_error = f"{type(err).__name__}: {err}"
                delay = min(30.0, 0.1 * 2 ** min(self.failures, 9))
                log.exception("consumer %s failed (retry in %.1fs)", self.sub.name, delay)
                await asyncio.sleep(delay)
                continue
            self.failures = 0
            self.last_error = None
            if not read:
                await self._wake.wait()
                if self.sub.linger_s:
                    await asyncio.sleep(self.sub.linger_s)
            elif self.sub.linger_s and read < self.sub.batch_size:
                await asyncio.sleep(self.sub.linger_s)  # caught up: let the next batch gather

    async def _step(self) -> int:
        """Handle the next batch; returns how many log events it read (0: none to read)."""
        sub, db, clock = self.sub, self.bus.db, self.bus.clock
        events = self.bus.tail_after(self.offset, sub.batch_size)
        if events is None:
            rows = await db.fetchall(
                f"{SELECT_EVENTS} WHERE e.pos > ? ORDER BY e.pos LIMIT ?", (self.offset, sub.batch_size)
            )
            events = [decode_row(self.bus.log.registry, r) for r in rows]
        if not events:
            return 0
        read, last = len(events), events[-1].pos
        # Refused events keep their place in the log (positions stay contiguous) but nobody acts
        # on them: they changed nothing.
        events = [
            e
            for e in events
            if (e.refused is None or sub.refused) and (sub.kinds is None or e.kind in sub.kinds)
        ]
        if not events:
            # Nothing of interest: move on without a write per batch (the busy writer is shared);
            # the offset is stored now and then, and on stop. Re-reading skipped events is harmless.
            self.offset = last
            if clock.monotonic() - self._stored_at > OFFSET_EVERY_S:
                await self._persist()
            return read
        if sub.handle_in_tx is not None:
            handle = sub.handle_in_tx

            def job(conn: Connection) -> None:
                handle(conn, events)
                _store_offset(conn, sub.name, last, clock.time())

            await db.write(job)
        else:
            assert sub.handle is not None
            await sub.handle(events)
            await db.write(lambda conn: _store_offset(conn, sub.name, last, clock.time()))
        self.offset = self._stored = last
        self._stored_at = clock.monotonic()
        return read

    async def _persist(self) -> None:
        if self.offset != self._stored:
            offset, clock = self.offset, self.bus.clock
            await self.bus.db.write(lambda conn: _store_offset(conn, self.sub.name, offset, clock.time()))
            self._stored = offset
        self._stored_at = self.bus.clock.monotonic()

    async def caught_up(self, timeout: float = 10.0) -> None:
        """Wait until this consumer has handled everything in the log (tests, drains)."""
        clock = self.bus.clock
        deadline = clock.monotonic() + timeout
        while self.offset < self.bus.log.length:
            if clock.monotonic() > deadline:
                raise TimeoutError(f"consumer {self.sub.name} at {self.offset} of {self.bus.log.length}")
            await asyncio.sleep(0.01)


class Bus:
    def __init__(self, db: Database, log_: EventLog, clock: Clock) -> None:
        self.db = db
        self.log = log_
        self.clock = clock
        self.consumers: dict[str, Consumer] = {}
        self._listeners: list[Callable[[list[Event]], None]] = []
        self._started = False
        # Newest committed events, contiguous in position (see the module docstring).
        self._tail: deque[Event] = deque(maxlen=TAIL_EVENTS)
        self._watcher: asyncio.Task[None] | None = None
        log_.publish = self.publish

    def subscribe(self, sub: Subscription) -> Consumer:
        if sub.name in self.consumers:
            raise ValueError(f"consumer name {sub.name!r} is taken")
        consumer = Consumer(sub, self)
        self.consumers[sub.name] = consumer
        return consumer

    def listen(self, callback: Callable[[list[Event]], None]) -> Callable[[], None]:
        """Call ``callback(events)`` for each committed batch, in the event loop; returns unlisten."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def tail_after(self, offset: int, limit: int) -> list[Event] | None:
        """Up to ``limit`` events after position ``offset`` from memory; None if the tail lacks them."""
        tail = self._tail
        if not tail or offset < tail[0].pos - 1 or offset > tail[-1].pos:
            return None
        start = offset - tail[0].pos + 1  # contiguous positions: the index is the distance
        return [tail[i] for i in range(start, min(len(tail), start + limit))]

    def publish(self, events: list[Event]) -> None:
        tail = self._tail
        for ev in events:
            if tail and ev.pos != tail[-1].pos + 1:
                tail.clear()  # a gap (or a replay): start a new contiguous run here
            tail.append(ev)
        for consumer in self.consumers.values():
            consumer.wake()
        live = [ev for ev in events if ev.refused is None]
        if not live:
            return
        for callback in list(self._listeners):
            try:
                callback(live)
            except Exception:
                log.exception("live listener failed")

    async def start(self) -> None:
        for consumer in self.consumers.values():
            await consumer.start()
        self._started = True
        self._watcher = asyncio.create_task(self._watch(), name="bus:other-writers")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for consumer in self.consumers.values():
            await consumer.stop()
        self._started = False

    async def _watch(self) -> None:
        """Publish what other processes append to the log, within POLL_S of their commit."""
        # busy_timeout 0: a look never holds up the event loop; a busy database is looked at next time.
        # One thread of its own, so the connection is closed only after a query in it has finished.
        loop = asyncio.get_running_loop()
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cryb-bus-watch")
        conn = await loop.run_in_executor(
            thread, lambda: connect(self.db.path, busy_timeout_ms=0, readonly=True)
        )
        version, behind = None, False
        try:
            while True:
                await asyncio.sleep(POLL_S)
                try:
                    # In the loop itself: ~10 us, no thread hop (a hop costs several times that).
                    now = conn.execute("PRAGMA data_version").fetchone()[0]
                except DatabaseError:
                    continue
                if now == version and not behind:
                    continue  # nobody committed
                try:
                    top = await loop.run_in_executor(thread, _last_position, conn)
                    version = now
                    # Our own commits change data_version too (the writer is another connection):
                    # what this process wrote or is writing is published by the event log itself.
                    behind = top > self.log.length
                    while top > self.log.known:
                        if not await self.log.catch_up():
                            break  # our own writes are in the way: look again next time
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("watching the log for other writers failed")
                    await asyncio.sleep(1.0)
        finally:
            thread.submit(conn.close)
            thread.shutdown(wait=False)


def _last_position(conn: Connection) -> int:
    return conn.execute("SELECT max(pos) FROM events").fetchone()[0] or 0
