"""SQLite access: one writer thread that commits concurrent write jobs in groups, and a reader pool.

A write job is a plain function ``fn(conn) -> result`` run in the writer thread. Jobs queued while a
transaction is in flight are committed together in the next one (one fsync for many requests); each
job runs inside its own SAVEPOINT so a failing job rolls back alone and its caller gets the exception.
aiosqlite pays a thread hop per awaited statement, so the writer does not use it: a whole group of
transactions runs as one call in the writer thread. Readers are aiosqlite connections (one hop per
query is fine for reads).

The writer never checkpoints the WAL in its COMMIT (SQLite's wal_autocheckpoint is off on it): a
checkpoint there made every request of that group wait for its two fsyncs (8-10 ms on a virtual
disk, the fan-out bench's p99). A thread and connection of their own (``Checkpoints``) do it beside
the writer instead, at most every CHECKPOINT_EVERY_S while there are commits; while Litestream
replicates, Litestream does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import pysqlite3.dbapi2 as sqlite3

from cryb_node.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")

MIN_SQLITE = (3, 51, 3)
INLINE_BUSY_MS = 20
Row = sqlite3.Row
# The node's database file in its data dir.
DB_FILE = "cryb.db"
IntegrityError = sqlite3.IntegrityError
DatabaseError = sqlite3.DatabaseError


class Connection(sqlite3.Connection):
    """A connection that carries the node's clock: projections run in the writer given only the
    connection and the event, and the times they stamp (an erasure, a refusal) are the node's."""

    clock: Clock


class SQLiteTooOld(RuntimeError):
    pass


def check_sqlite_version(version: tuple[int, ...] = sqlite3.sqlite_version_info) -> None:
    # Every release before 3.51.3 can corrupt a WAL database when two connections write and
    # checkpoint at the same moment, which is what Litestream beside the node does.
    if tuple(version) < MIN_SQLITE:
        need = ".".join(map(str, MIN_SQLITE))
        raise SQLiteTooOld(f"SQLite {'.'.join(map(str, version))} is too old; {need} or newer is required")


def connect(
    path: Path, *, busy_timeout_ms: int, readonly: bool = False, clock: Clock | None = None
) -> Connection:
    """A connection with the node's pragmas. isolation_level=None: we issue BEGIN/COMMIT ourselves."""
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    # The node runs ~300 distinct statements (IN lists of varying length among them); with the
    # default cache of 128 prepared statements they evicted each other and a message send re-prepared
    # most of its statements: 400 -> 240 us of CPU per send (in-process, 64 senders).
    conn = sqlite3.connect(
        uri,
        uri=True,
        isolation_level=None,
        check_same_thread=False,
        timeout=0,
        cached_statements=1024,
        factory=Connection,
    )
    conn.clock = clock or Clock()
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    # Erased text must not live on in freed pages of the file: SQLite zeroes what it deletes.
    conn.execute("PRAGMA secure_delete = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@dataclass(slots=True)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    alone: bool = False


# A PASSIVE checkpoint at most this often while commits come: the WAL holds about a second of
# writes, and a power loss (synchronous=NORMAL syncs the WAL only at checkpoints) loses at most that.
CHECKPOINT_EVERY_S = 1.0

# Upper bounds of the /metrics histograms of group sizes (jobs per transaction) and commit times.
GROUP_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
COMMIT_SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


def _bucket_index(bounds: tuple[float, ...], value: float) -> int:
    for i, bound in enumerate(bounds):
        if value <= bound:
            return i
    return len(bounds)  # +Inf


@dataclass
class WriteStats:
    transactions: int = 0
    jobs: int = 0
    largest_group: int = 0
    group_sizes: list[int] = field(default_factory=list)
    # Per-bucket (not cumulative) counts for the histograms; the last slot is +Inf.
    size_counts: list[int] = field(default_factory=lambda: [0] * (len(GROUP_SIZE_BUCKETS) + 1))
    seconds_counts: list[int] = field(default_factory=lambda: [0] * (len(COMMIT_SECONDS_BUCKETS) + 1))
    seconds_sum: float = 0.0

    def record(self, size: int, seconds: float = 0.0) -> None:
        self.transactions += 1
        self.jobs += size
        self.largest_group = max(self.largest_group, size)
        self.group_sizes.append(size)
        del self.group_sizes[:-1000]
        self.size_counts[_bucket_index(GROUP_SIZE_BUCKETS, size)] += 1
        self.seconds_counts[_bucket_index(COMMIT_SECONDS_BUCKETS, seconds)] += 1
        self.seconds_sum += seconds


class Checkpoints:
    """Checkpoints the WAL on a thread and connection of their own, so no COMMIT waits for one.
    PASSIVE: it copies what no reader still needs and never waits for, or blocks, the writer."""

    def __init__(self, path: Path, every_s: float, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.every_s = every_s
        self.busy_timeout_ms = busy_timeout_ms
        self.enabled = True
        self.done = 0  # checkpoints run (/metrics)
        self.rounds = 0  # times the thread woke for commits, checkpointing or not
        self._dirty = threading.Event()  # commits since the last round
        self._stop = threading.Event()
        self._lock = threading.Lock()  # held through a checkpoint: set_enabled(False) waits it out
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="cryb-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._dirty.set()

    def set_enabled(self, enabled: bool) -> None:
        """Blocking: once it returns with False, no checkpoint is running or will start."""
        with self._lock:
            self.enabled = enabled

    def stop(self) -> None:
        self._stop.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        conn: Connection | None = None  # opened at the first checkpoint, so never while Litestream's
        try:
            while True:
                self._dirty.wait()
                if self._stop.wait(self.every_s):  # gather what commits in the meantime
                    return
                self._dirty.clear()
                with self._lock:
                    self.rounds += 1
                    if not self.enabled:
                        continue
                    try:
                        # Opening can meet a busy file (another connection recovering the WAL): the
                        # thread must outlive that, or the WAL would grow for the process's life.
                        if conn is None:
                            conn = connect(self.path, busy_timeout_ms=self.busy_timeout_ms)
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    except sqlite3.Error as err:  # the next commit brings another round
                        log.warning("checkpoint failed: %s", err)
                    else:
                        self.done += 1
        finally:
            if conn is not None:
                conn.close()


class Database:
    """Owns the SQLite file: open with ``await db.open()``, close with ``await db.close()``."""

    def __init__(
        self,
        path: Path,
        *,
        readers: int = 4,
        busy_timeout_ms: int = 5000,
        group_commit_max: int = 256,
        clock: Clock | None = None,
        checkpoint_every_s: float = CHECKPOINT_EVERY_S,
        own_checkpoints: bool = True,
    ) -> None:
        """``own_checkpoints``: False when Litestream replicates this file, even from another
        process (a CLI command beside the serving node), since only Litestream may checkpoint it."""
        self.path = Path(path)
        self.clock = clock or Clock()
        self._readers_n = readers
        self._busy = busy_timeout_ms
        self._group_max = group_commit_max
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cryb-writer")
        self._writer: Connection | None = None
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._next: _Job | None = None  # an ``alone`` job met while grouping: it runs next, by itself
        self._task: asyncio.Task[None] | None = None
        self._closing = False  # close() has begun: new writes are refused, queued ones still commit
        self._pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._writer_thread: threading.Thread | None = None
        self._inline: sqlite3.Connection | None = None
        self.stats = WriteStats()
        self.checkpoints = Checkpoints(self.path, checkpoint_every_s, busy_timeout_ms)
        self.checkpoints.enabled = own_checkpoints
        # Called in the event loop after each group, with whether it committed.
        self.on_commit: list[Callable[[bool], None]] = []

    async def open(self) -> None:
        check_sqlite_version()
        loop = asyncio.get_running_loop()
        self._writer = await loop.run_in_executor(self._executor, self._connect_writer)
        self.checkpoints.start()
        for _ in range(self._readers_n):
            conn = aiosqlite.Connection(
                lambda: connect(self.path, busy_timeout_ms=self._busy), iter_chunk_size=64
            )
            await conn
            self._all_readers.append(conn)
            self._pool.put_nowait(conn)
        # Short reads on the event loop itself (fetchall_inline): a small busy timeout, since the
        # loop waits; a busy database sends the read to the pool instead.
        self._inline = connect(self.path, busy_timeout_ms=INLINE_BUSY_MS)
        self._closing = False
        self._task = asyncio.create_task(self._run_writer(), name="cryb-db-writer")

    def _connect_writer(self) -> Connection:
        conn = connect(self.path, busy_timeout_ms=self._busy, clock=self.clock)
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # never in a COMMIT: Checkpoints does it
        return conn

    async def close(self) -> None:
        if self._task is not None:
            # Refuse new writes, then let the queued ones finish before the writer stops (without the
            # refusal a write queued as the queue drained went to a cancelled writer, unanswered).
            self._closing = True
            await self._queue.join()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for conn in self._all_readers:
            await conn.close()
        self._all_readers.clear()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        # Before the writer closes: the last connection to close checkpoints what is left.
        await asyncio.get_running_loop().run_in_executor(None, self.checkpoints.stop)
        if self._writer is not None:
            writer = self._writer
            await asyncio.get_running_loop().run_in_executor(self._executor, writer.close)
            self._writer = None
        self._executor.shutdown(wait=True)

    # -- writes -------------------------------------------------------------------------------

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, alone: bool = False) -> T:
        """Run ``fn(conn)`` in the writer inside a transaction; returns once it is committed.

        ``alone``: in a transaction of its own, not grouped with other writes. For a large job
        that opens savepoints per item (a peer's batch): under the group's per-job savepoint,
        releasing each of its savepoints walked SQLite's in-memory statement journal of the whole
        job so far (memjrnlTruncate), 24 us per event at 10,000 events and growing."""
        if self._task is None:
            raise RuntimeError("database is not open")
        if self._closing:
            raise RuntimeError("database is closing")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(fn, fut, alone))
        return await fut

    async def _run_writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first, self._next = self._next or await self._queue.get(), None
            batch = [first]
            while not first.alone and len(batch) < self._group_max and not self._queue.empty():
                job = self._queue.get_nowait()
                if job.alone:
                    self._next = job
                    break
                batch.append(job)
            committed = True
            try:
                outcomes = await loop.run_in_executor(self._executor, self._commit_group, batch)
            except Exception as err:  # the COMMIT itself failed: every job in the group failed
                log.error("write group of %d failed: %s", len(batch), err)
                outcomes = [(False, err)] * len(batch)
                committed = False
            for job, (ok, value) in zip(batch, outcomes, strict=True):
                if job.future.done():
                    continue
                if ok:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)
            for _ in batch:
                self._queue.task_done()
            for hook in self.on_commit:
                hook(committed)

    def _commit_group(self, batch: list[_Job]) -> list[tuple[bool, Any]]:
        conn = self._writer
        assert conn is not None
        outcomes: list[tuple[bool, Any]] = []
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        if len(batch) == 1:
            # No savepoint needed to keep a failure from the group's other jobs: there are none.
            try:
                outcomes.append((True, batch[0].fn(conn)))
            except BaseException as err:
                conn.execute("ROLLBACK")
                outcomes.append((False, err))
            else:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                self.checkpoints.committed()
            self.stats.record(1, time.perf_counter() - began)
            return outcomes
        try:
            for job in batch:
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(conn)
                except BaseException as err:
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, err))
                else:
                    conn.execute("RELEASE job")
                    outcomes.append((True, value))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.checkpoints.committed()
        self.stats.record(len(batch), time.perf_counter() - began)
        return outcomes

    async def run_in_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in the writer thread outside any transaction (migrations, VACUUM)."""
        await self._queue.join()
        assert self._writer is not None
        writer = self._writer
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, writer)
        finally:
            self.checkpoints.committed()  # it may have written (a migration)

    async def set_checkpoints(self, enabled: bool) -> None:
        """Whether the node checkpoints the WAL: not while Litestream replicates, since it must copy
        every WAL frame before a checkpoint drops it. Returns once none is running."""
        await asyncio.get_running_loop().run_in_executor(None, self.checkpoints.set_enabled, enabled)

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    # -- reads --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._pool.get()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                await conn.rollback()
            self._pool.put_nowait(conn)

    async def fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        async with self.reader() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def fetchall_inline(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """``fetchall`` run on the event loop without a thread hop: for a short, indexed, bounded
        query (a page of history or of a feed). A hop to a reader thread costs more than such a query
        under load: the woken reader preempts the loop while it holds the GIL (py-spy: a quarter of
        the loop's time on GET 50 messages went to handing the query over). SQLite releases the GIL
        while it steps, so the writer thread runs meanwhile."""
        conn = self._inline
        if conn is None:
            return await self.fetchall(sql, params)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise
            return await self.fetchall(sql, params)  # the pool's readers wait without blocking the loop

    async def fetchone(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Any = (), default: Any = None) -> Any:
        row = await self.fetchone(sql, params)
        return default if row is None else row[0]
