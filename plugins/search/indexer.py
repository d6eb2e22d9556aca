"""The index and the one thread that writes it: applies batches of events, rebuilds from the database
in the background, optimizes, and validates on start.

Layout: ``<data>/search/CURRENT`` names the live generation (``g<ms>``), a directory beside it holding
the index's SQLite file (store.py). A rebuild fills a new generation on a thread of its own while the
old one (if readable, of this version and not ahead of the database) keeps serving and keeps
receiving every live change, then swaps CURRENT atomically (os.replace) and deletes the old one;
with no such old one, searches read the build in progress (partial). A crash mid-rebuild leaves
CURRENT on the old generation, so the next start simply rebuilds again.

Live batches are written in the node's process, on the indexer's thread: FTS5 does its work in C
with the GIL released, so no writer process is needed (the Whoosh index had one).

The offset: the last event position applied is stored in the index itself (a meta row written in
the same transaction as the documents), so index and offset cannot disagree after a crash. The
bus consumer stores its own offset only after that commit, so on start the index is at or ahead of
the consumer; an index behind it (lost writes, a restored old copy) is stale and is rebuilt.
Re-delivered events are harmless: every change re-reads the target's current row (source.py) and
replaces the document by key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from cryb_node.clock import Clock
from cryb_node.events import Event

from .documents import KINDS, SCHEMA_VERSION, Doc, Meta
from .source import Source
from .store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

PAGE = 2000  # rows read from the database per step of a rebuild (live changes interleave between steps)
# Documents a rebuild adds in one transaction. Live changes that arrive meanwhile are replayed into
# the build at each commit, so this bounds how long they wait (they are in the live index at once).
BULK_COMMIT = 50_000
BUILD_CACHE_KIB = 65_536  # the build connection's page cache (FTS5 merges segments through it)

# Event kind -> the document kind it changes (its target is the id). member.ban and user.erased are
# handled on their own below.
_TARGET_KIND = {
    **{f"message.{v}": "message" for v in ("create", "edit", "delete")},
    **{f"post.{v}": "post" for v in ("create", "edit", "delete")},
    **{f"comment.{v}": "comment" for v in ("create", "edit", "delete")},
    "user.created": "user",
    "user.profile": "user",
    "user.erased": "user",
}
_COMMUNITY_KINDS = {"community.create", "community.update", "community.delete", "community.transfer"}


@dataclass
class Changes:
    """What one batch of events asks of the index."""

    targets: dict[str, set[str]] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)  # user ids: every document they authored goes
    bans: list[tuple[str, str]] = field(default_factory=list)  # (community, user): re-check content
    # users whose documents changed with no event saying so (a node ban, or its removal): each of
    # their documents and their profile is dropped and read again
    authors: set[str] = field(default_factory=set)
    last_pos: int = 0

    def add(self, kind: str, id_: str | None) -> None:
        if id_:
            self.targets.setdefault(kind, set()).add(id_)

    def absorb(self, other: Changes) -> None:
        for kind, ids in other.targets.items():
            self.targets.setdefault(kind, set()).update(ids)
        self.erased |= other.erased
        self.last_pos = max(self.last_pos, other.last_pos)

    def __bool__(self) -> bool:
        return bool(self.targets or self.erased)


def changes_of(events: Iterable[Event]) -> Changes:
    ch = Changes()
    for ev in events:
        ch.last_pos = max(ch.last_pos, ev.pos)
        if ev.refused is not None:
            continue  # changed nothing: only the offset passes it
        kind, body = ev.kind, ev.body
        if kind in _TARGET_KIND:
            ch.add(_TARGET_KIND[kind], body.target)
            if kind == "user.erased" and body.target:
                ch.erased.add(body.target)
        elif kind == "content.moderate":
            ch.add(str(getattr(ev.payload, "target_type", "")), body.target)
        elif kind in _COMMUNITY_KINDS:
            ch.add("community", body.community or body.target)
        elif kind == "member.ban" and body.community and body.target:
            ch.bans.append((body.community, body.target))
    return ch


@dataclass
class Status:
    state: str  # opening | ready | rebuilding | failed
    reason: str
    generation: str | None
    offset: int
    documents: int
    progress: tuple[int, int]  # rows read / rows to read during a rebuild
    indexed: int  # documents written since start (rate figures)
    caught_up_at: float


class Indexer:
    def __init__(
        self, root: Path, db_path: Path, busy_timeout_ms: int = 5000, clock: Clock | None = None
    ) -> None:
        self.root = root
        self.db_path = db_path
        self.busy_timeout_ms = busy_timeout_ms
        # The node's clock (a bench or a command without a node gets the system's).
        self.clock = clock or Clock()
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cryb-search")
        # A rebuild's scanning and bulk inserts run on a thread of their own (with its own database
        # connections), so a bulk transaction never holds up live indexing; the two meet only
        # through _pending (under _plock) and in _finish.
        self._bexec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cryb-search-build")
        self._bsource: Source | None = None
        self._plock = threading.Lock()
        self._source: Source | None = None
        self.live: Store | None = None  # written on the indexer's thread only
        self.live_gen: str | None = None
        self.meta = Meta()
        self.building: Store | None = None
        self.state = "opening"
        self.reason = ""
        self.offset = 0  # highest event position applied
        self.progress = (0, 0)
        self.indexed = 0
        self.caught_up_at = self.clock.time()
        self._documents = 0  # in the live index (kept by the writer; read by readiness and metrics)
        self._rebuild_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.rebuilds: list[str] = []  # why each rebuild since start was needed
        self._touched: set[str] = set()  # keys live changes wrote into the build in progress
        self._bulk_open = False  # the rebuild's transaction on `building` is open
        self._bulk_added = 0
        # Live changes that arrived during a rebuild, replayed into `building` at its next commit.
        self._pending = Changes()

    # -- plumbing ---------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._exec, fn, *args)

    async def _brun(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._bexec, fn, *args)

    @property
    def build_source(self) -> Source:
        """The rebuild thread's own connection."""
        if self._bsource is None:
            self._bsource = Source(self.db_path, self.busy_timeout_ms)
        return self._bsource

    @property
    def source(self) -> Source:
        # Opened lazily in the worker thread, after migrations created the tables.
        if self._source is None:
            self._source = Source(self.db_path, self.busy_timeout_ms)
        return self._source

    def _gen_path(self, gen: str) -> Path:
        return self.root / gen

    def _read_current(self) -> str | None:
        try:
            gen = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return gen or None

    def _write_current(self, gen: str) -> None:
        tmp = self.root / "CURRENT.tmp"
        with open(tmp, "w") as f:
            f.write(gen + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")

    # -- start ------------------------------------------------------------------------------------

    def _open(self, consumer_offset: int) -> str:
        """Open the live generation; returns why it must be rebuilt ('' if it need not)."""
        self.root.mkdir(parents=True, exist_ok=True)
        gen = self._read_current()
        for stray in self.root.iterdir():  # generations a crash left behind
            if stray.is_dir() and stray.name != gen:
                shutil.rmtree(stray, ignore_errors=True)
        if gen is None or not self._gen_path(gen).is_dir():
            return "missing"
        store: Store | None = None
        try:
            store = Store.open(self._gen_path(gen), self.busy_timeout_ms)
            meta = store.read_meta()
            documents = store.documents()
        except Exception as err:  # a damaged file fails in many ways
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()
            log.warning("search index %s is unreadable (%s: %s); rebuilding", gen, type(err).__name__, err)
            return "corrupt"
        if meta.version != SCHEMA_VERSION:
            # Another version's columns and tokens differ: neither searched nor written, it waits
            # for its replacement (searches answer from the build meanwhile, marked partial).
            store.close()
            return "schema changed"
        if meta.offset > self.source.log_length():
            # It holds events the database does not (restored from an older backup): it could find
            # messages that no longer exist, so it is not searched either.
            store.close()
            return "ahead of the database"
        self.live, self.live_gen, self.meta = store, gen, meta
        self._documents = documents
        self.offset = meta.offset
        if not meta.complete:
            return "incomplete"
        if meta.offset < consumer_offset:
            return "stale"
        return ""

    async def start(self, consumer_offset: int) -> None:
        self._loop = asyncio.get_running_loop()
        reason = await self._run(self._open, consumer_offset)
        if reason:
            self.rebuild(reason)
        else:
            self.state = "ready"

    async def close(self) -> None:
        if self._rebuild_task is not None:
            self._rebuild_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rebuild_task

        def shut() -> None:
            if self._source is not None:
                self._source.close()
                self._source = None
            if self.live is not None:
                self.live.close()
                self.live = None

        def bshut() -> None:
            if self._bsource is not None:
                self._bsource.close()
                self._bsource = None

        await self._run(shut)
        await self._brun(bshut)
        self._exec.shutdown(wait=True)
        self._bexec.shutdown(wait=True)

    # -- live changes -----------------------------------------------------------------------------

    async def apply(self, events: list[Event]) -> int:
        """Apply a batch of committed events durably; returns documents written or removed."""
        return await self._run(self._apply, changes_of(events))

    async def recheck_authors(self, users: list[str]) -> int:
        """Drop and re-read every document of ``users`` (search.State.recheck_authors)."""
        return await self._run(self._apply, Changes(authors=set(users)))

    def _fetch(self, ch: Changes, src: Source | None = None) -> tuple[list[Doc], list[str]]:
        """The current rows of a batch's targets: (documents to write, keys to remove)."""
        src = src or self.source
        for community, user in ch.bans:
            for kind, ids in src.member_content(community, user).items():
                ch.targets.setdefault(kind, set()).update(ids)
        ch.bans = []
        if ch.authors:
            for kind, ids in src.authored(sorted(ch.authors)).items():
                ch.targets.setdefault(kind, set()).update(ids)
            ch.targets.setdefault("user", set()).update(ch.authors)
            ch.erased |= ch.authors  # out first (whatever the index holds of them), then read again
            ch.authors = set()
        src.conn.execute("BEGIN")  # one snapshot for the whole batch
        try:
            found: list[Doc] = []
            gone: list[str] = []
            for kind, wanted in ch.targets.items():
                if kind not in KINDS:
                    continue
                docs = src.fetch(kind, wanted)
                found += docs
                present = {d.id for d in docs}
                gone += [f"{kind}:{i}" for i in wanted if i not in present]
        finally:
            src.conn.execute("COMMIT")
        return found, gone

    def _apply(self, ch: Changes) -> int:
        found, gone = self._fetch(ch)
        if self.building is not None:
            # The build holds its transaction open between pages; its changes are replayed (re-read
            # from the database, so always current) when it next commits.
            with self._plock:
                self._pending.absorb(ch)
        n = len(found) + len(gone)
        if self.live is not None:
            try:
                self.meta.offset = max(self.meta.offset, ch.last_pos)
                n = self.live.write(found, gone, ch.erased, self.meta)
                self._documents = self.live.count
            except Exception:
                # The live index broke under us: drop it and rebuild; the new one gets this batch.
                log.exception("search index %s failed to commit; rebuilding", self.live_gen)
                with contextlib.suppress(Exception):
                    self.live.close()
                self.live = None
                self._documents = 0
                self._loop_call(lambda: self.rebuild("corrupt"))
        self.offset = max(self.offset, ch.last_pos)
        self.indexed += n
        return n

    def _loop_call(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    # -- rebuild ----------------------------------------------------------------------------------

    def rebuild(self, reason: str) -> None:
        """Start a background rebuild (no-op while one runs)."""
        if self._rebuild_task is not None and not self._rebuild_task.done():
            return
        self.rebuilds.append(reason)
        self.state, self.reason = "rebuilding", reason
        self._rebuild_task = asyncio.create_task(self._rebuild(reason), name="search-rebuild")

    async def wait_rebuilt(self, timeout: float = 60.0) -> None:
        if self._rebuild_task is not None:
            await asyncio.wait_for(asyncio.shield(self._rebuild_task), timeout)

    async def _rebuild(self, reason: str) -> None:
        delay = 1.0
        while True:
            try:
                await self._build_once(reason)
                return
            except asyncio.CancelledError:
                await self._drained_abandon()
                raise
            except Exception as err:
                log.exception("search rebuild failed; retrying in %.0fs", delay)
                self.state, self.reason = "failed", f"rebuild failed: {type(err).__name__}: {err}"
                await self._drained_abandon()
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
                self.state, self.reason = "rebuilding", reason

    async def _drained_abandon(self) -> None:
        """Discard the build once neither thread still works on it: a cancelled await leaves its job
        running, and closing a connection another thread is using crashes SQLite's caller."""
        await asyncio.shield(self._brun(lambda: None))
        await asyncio.shield(self._run(self._abandon))

    def _begin(self) -> tuple[str, int, int]:
        gen = f"g{self.clock.time_ms()}"
        store = Store.create(self._gen_path(gen), self.busy_timeout_ms)
        # A build is not live until its swap, and a crash before it discards it: no fsync meanwhile.
        store.conn.execute("PRAGMA synchronous = OFF")
        store.conn.execute(f"PRAGMA cache_size = -{BUILD_CACHE_KIB}")
        self._touched = set()
        with self._plock:
            self._pending = Changes()
        self._bulk_open, self._bulk_added = False, 0
        self.building = store
        start = self.source.log_length()
        total = self.source.count()
        return gen, start, total

    def _page(self, kind: str, after: int) -> tuple[int, int]:
        docs, n, last = self.build_source.scan(kind, after, PAGE)
        if n:
            self.bulk_add(docs)
        return n, last

    def bulk_add(self, docs: Iterable[Doc]) -> None:
        """The rebuild's writing path (the bench loads its corpus through it too): documents go into
        one open transaction, committed every BULK_COMMIT documents."""
        assert self.building is not None
        store, touched = self.building, self._touched
        if not self._bulk_open:
            store.conn.execute("BEGIN")
            self._bulk_open = True
        try:
            docs = list(docs)
            # Only documents a replayed live change already wrote into this build need replacing.
            fresh = [d for d in docs if d.key not in touched] if touched else docs
            store.put(fresh, fresh=True)
            if len(fresh) != len(docs):
                store.put([d for d in docs if d.key in touched])
        except BaseException:
            self._bulk_open = False
            with contextlib.suppress(Exception):
                store.conn.execute("ROLLBACK")
            raise
        self._bulk_added += len(docs)
        self.indexed += len(docs)
        if self._bulk_added >= BULK_COMMIT:
            self._bulk_commit(self.build_source)

    def _bulk_commit(self, src: Source) -> None:
        """Commit the bulk transaction, then replay the live changes that arrived meanwhile (re-read
        through ``src``, the calling thread's connection), so the build is whole at every commit."""
        assert self.building is not None
        if self._bulk_open:
            self._bulk_open, self._bulk_added = False, 0
            self.building.conn.execute("COMMIT")
        with self._plock:
            ch, self._pending = self._pending, Changes()
        if ch:
            found, gone = self._fetch(ch, src)
            self.building.write(found, gone, ch.erased, None)
            self._touched.update(d.key for d in found)

    def _settle(self) -> None:
        """On the rebuild's thread, after its last page: merge the build's segments into one (the
        searches it will serve read one b-tree per term)."""
        assert self.building is not None
        self._bulk_commit(self.build_source)
        self.building.optimize()

    def _finish(self, gen: str, start: int) -> None:
        """On the live thread, after the rebuild thread is done: what live changes arrived since are
        replayed here, where no other can slip in before the swap."""
        assert self.building is not None and not self._bulk_open
        self._bulk_commit(self.source)
        meta = Meta(offset=max(start, self.offset), complete=True, built_at=int(self.clock.time()))
        store = self.building
        store.write_meta(meta)
        store.conn.execute("PRAGMA synchronous = NORMAL")
        store.conn.execute("PRAGMA cache_size = -2000")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        old = self._read_current()  # also an unreadable one, never opened as live
        self._write_current(gen)
        if self.live is not None:
            self.live.close()
        self.live, self.live_gen, self.meta = store, gen, meta
        self._documents = store.count
        self.building = None
        self._touched = set()
        self.offset = max(self.offset, meta.offset)
        if old and old != gen:
            shutil.rmtree(self._gen_path(old), ignore_errors=True)

    def _abandon(self) -> None:
        with self._plock:
            self._pending = Changes()
        store, self.building = self.building, None
        self._bulk_open = False
        if store is not None:
            with contextlib.suppress(Exception):
                store.conn.execute("ROLLBACK")
            with contextlib.suppress(Exception):
                store.close()
            shutil.rmtree(store.path.parent, ignore_errors=True)

    def _report(self, gen: str | None) -> None:
        p = Progress(state=self.state, reason=self.reason, done=self.progress[0], total=self.progress[1],
                     generation=gen, updated_at=self.clock.time())  # fmt: skip
        try:
            write_progress(self.root, p)
        except OSError as err:
            log.warning("cannot write search progress: %s", err)

    async def _build_once(self, reason: str) -> None:
        began = self.clock.monotonic()
        gen, start, total = await self._run(self._begin)
        done = 0
        self.progress = (0, total)
        for kind in KINDS:
            after = 0
            while True:
                n, after = await self._brun(self._page, kind, after)
                if not n:
                    break
                done += n
                self.progress = (done, max(total, done))
                self._report(gen)
        await self._brun(self._settle)
        await self._run(self._finish, gen, start)
        self.state, self.reason = "ready", ""
        self._report(gen)
        log.info(
            "search index rebuilt (%s): %d rows in %.1fs, generation %s",
            reason,
            done,
            self.clock.monotonic() - began,
            gen,
        )

    def serving(self) -> tuple[Path | None, bool]:
        """The index file searches read, and whether it is partial: the build in progress when there
        is no whole index to serve (a new node, a lost, outdated or restored-over index)."""
        live = self.live
        if live is not None:
            return live.path, False
        building = self.building
        return (building.path if building is not None else None), True

    # -- maintenance and figures ------------------------------------------------------------------

    async def optimize(self) -> None:
        """Merge the live index's FTS5 segments into one, on the writer's thread (seconds at 1M
        documents; live batches wait meanwhile)."""

        def run() -> None:
            if self.live is None:
                return
            self.live.conn.execute("BEGIN IMMEDIATE")
            try:
                self.live.optimize()
                self.meta.optimized_at = int(self.clock.time())
                self.live.write_meta(self.meta)
                self.live.conn.execute("COMMIT")
            except BaseException:
                self.live.conn.execute("ROLLBACK")
                raise

        await self._run(run)

    def documents(self) -> int:
        return self._documents if self.live is not None else 0

    def status(self) -> Status:
        return Status(
            state=self.state,
            reason=self.reason,
            generation=self.live_gen,
            offset=self.offset,
            documents=self.documents(),
            progress=self.progress,
            indexed=self.indexed,
            caught_up_at=self.caught_up_at,
        )

    async def keys(self) -> set[str]:
        """Every document key in the live index (verification and tests)."""
        return await self._run(lambda: set(self.live.keys()) if self.live is not None else set())

    async def expected_keys(self) -> set[str]:
        return await self._run(lambda: set(self.source.visible_keys()))

    async def stats(self) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            if self.live is None:
                return {"by_kind": {}, "segments": 0, "bytes": 0}
            live = self.live
            return {"by_kind": live.by_kind(), "segments": live.segments(), "bytes": live.size()}

        return await self._run(run)


# -- between processes: the serving node owns the index; the CLI asks it to rebuild ----------------

LOCK_FILE = "LOCK"
REQUEST_FILE = "REINDEX"
PROGRESS_FILE = "PROGRESS"


class Progress(msgspec.Struct, kw_only=True):
    state: str
    reason: str = ""
    done: int = 0
    total: int = 0
    generation: str | None = None
    updated_at: float = 0.0


def try_lock(root: Path) -> int | None:
    """Take the index's owner lock (held for the process's life); None if another process has it."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def write_progress(root: Path, p: Progress) -> None:
    tmp = root / (PROGRESS_FILE + ".tmp")
    tmp.write_bytes(msgspec.json.encode(p))
    os.replace(tmp, root / PROGRESS_FILE)


def read_progress(root: Path) -> Progress | None:
    try:
        return msgspec.json.decode((root / PROGRESS_FILE).read_bytes(), type=Progress)
    except (FileNotFoundError, msgspec.DecodeError):
        return None


def read_only_stats(root: Path) -> tuple[str | None, Meta | None, dict[str, int]]:
    """The live generation, its meta and counts by kind, without taking ownership (the CLI)."""
    try:
        gen = (root / "CURRENT").read_text().strip()
        store = Store.open(root / gen, readonly=True)
        try:
            return gen, store.read_meta(), store.by_kind()
        finally:
            store.close()
    except Exception as err:
        log.debug("search index unreadable: %s", err)
        return None, None, {}
