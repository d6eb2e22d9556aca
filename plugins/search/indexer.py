"""The index and the one thread that writes it: applies batches of events, rebuilds from the database
in the background, optimizes, and validates on start.

Layout: ``<data>/search/CURRENT`` names the live generation (``g<ms>``), a Whoosh index directory
beside it. A rebuild fills a new generation while the old one (if readable, of this schema and not
ahead of the database) keeps serving and keeps receiving every live change, then swaps CURRENT
atomically (os.replace) and deletes the old one; with no such old one, searches read the build in
progress (partial). A crash mid-rebuild leaves CURRENT on the old generation, so the next start
simply rebuilds again.

The offset: the last event position applied is stored in the index itself (a meta document written
in the same Whoosh commit as the documents), so index and offset cannot disagree after a crash. The
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
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from whoosh import index as windex
from whoosh.index import Index

from cryb_node.events import Event

from . import committer, whoosh_fixes  # noqa: F401 (whoosh_fixes applies on import)
from .schema import KINDS, META_KEY, SCHEMA_VERSION, Meta, make_schema
from .source import Source

log = logging.getLogger(__name__)
T = TypeVar("T")

PAGE = 2000  # rows read from the database per step of a rebuild (live changes interleave between steps)
# Documents a rebuild adds through one Whoosh writer before committing. Whoosh's cost is per commit and
# per merge (each commit writes a segment's whole term dictionary; merging re-reads every posting in
# Python), so the bulk path writes large segments and never merges them: 100k documents per segment.
BULK_COMMIT = 100_000
OPTIMIZE_MERGE_MAX = 50_000  # the daily optimize merges in place up to this size, above it rebuilds
BULK_LIMIT_MB = 256  # the writer's in-memory posting pool; beyond it, sorted runs spill to temp files

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


class Corrupt(Exception):
    pass


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
        self, root: Path, db_path: Path, busy_timeout_ms: int = 5000, *, child_process: bool = True
    ) -> None:
        self.root = root
        # Live commits in a child process (committer.py); None writes them in the indexer's thread.
        self.committer = committer.Committer() if child_process else None
        self.db_path = db_path
        self.busy_timeout_ms = busy_timeout_ms
        self.schema = make_schema()
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cryb-search")
        # A rebuild's scanning and bulk commits run on a thread of their own (with its own database
        # connection), so a bulk commit (tens of seconds for 100k documents) never holds up live
        # indexing; the two meet only through _pending (under _plock) and in _finish.
        self._bexec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cryb-search-build")
        self._bsource: Source | None = None
        self._plock = threading.Lock()
        self._source: Source | None = None
        self.live: Index | None = None
        self.live_gen: str | None = None
        self.meta = Meta()
        self.building: Index | None = None
        self.state = "opening"
        self.reason = ""
        self.offset = 0  # highest event position applied
        self.progress = (0, 0)
        self.indexed = 0
        self.caught_up_at = time.time()
        self._rebuild_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.rebuilds: list[str] = []  # why each rebuild since start was needed
        self._touched: set[str] = set()  # keys live changes wrote into the build in progress
        self._bulk: Any = None  # the rebuild's open writer on `building` (None between commits)
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

    @staticmethod
    def read_meta(ix: Index) -> Meta:
        with ix.searcher() as s:
            stored = s.document(key=META_KEY)
            if stored is None or "meta" not in stored:
                raise Corrupt("the index has no meta document")
            # Touch every segment: a missing or truncated file fails here rather than mid-search.
            s.doc_count()
            for reader, _ in s.reader().leaf_readers():
                reader.doc_count()
                next(iter(reader.lexicon("kind")), None)
            return msgspec.json.decode(stored["meta"], type=Meta)

    @staticmethod
    def _write_meta(writer: Any, meta: Meta) -> None:
        writer.update_document(key=META_KEY, meta=msgspec.json.encode(meta))

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
        try:
            ix = windex.open_dir(str(self._gen_path(gen)), schema=self.schema)
            meta = self.read_meta(ix)
        except Exception as err:  # whoosh raises many kinds for damaged files
            log.warning("search index %s is unreadable (%s: %s); rebuilding", gen, type(err).__name__, err)
            return "corrupt"
        if meta.version != SCHEMA_VERSION:
            # Another schema's fields and postings differ: neither searched nor written, it waits
            # for its replacement (searches answer from the build meanwhile, marked partial).
            return "schema changed"
        if meta.offset > self.source.log_length():
            # It holds events the database does not (restored from an older backup): it could find
            # messages that no longer exist, so it is not searched either.
            return "ahead of the database"
        self.live, self.live_gen, self.meta = ix, gen, meta
        self.offset = meta.offset
        if not meta.complete:
            return "incomplete"
        if meta.offset < consumer_offset:
            return "stale"
        return ""

    async def start(self, consumer_offset: int) -> None:
        self._loop = asyncio.get_running_loop()
        reason = await self._run(self._open, consumer_offset)
        if self.committer is not None:
            # Start the writer process now, not in the middle of the first busy moment.
            await self._run(self.committer.start)
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

        def bshut() -> None:
            if self._bsource is not None:
                self._bsource.close()
                self._bsource = None

        await self._run(shut)
        await self._brun(bshut)
        self._exec.shutdown(wait=True)
        self._bexec.shutdown(wait=True)
        if self.committer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.committer.close)

    # -- live changes -----------------------------------------------------------------------------

    async def apply(self, events: list[Event]) -> int:
        """Apply a batch of committed events durably; returns documents written or removed."""
        return await self._run(self._apply, changes_of(events))

    async def recheck_authors(self, users: list[str]) -> int:
        """Drop and re-read every document of ``users`` (search.State.recheck_authors)."""
        return await self._run(self._apply, Changes(authors=set(users)))

    def _fetch(self, ch: Changes, src: Source | None = None) -> tuple[list[Any], list[str]]:
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
            found: list[Any] = []
            gone: list[str] = []
            for kind, ids in ch.targets.items():
                if kind not in KINDS:
                    continue
                docs = src.fetch(kind, ids)
                found += docs
                present = {d.id for d in docs}
                gone += [f"{kind}:{i}" for i in ids if i not in present]
        finally:
            src.conn.execute("COMMIT")
        return found, gone

    def _apply(self, ch: Changes) -> int:
        found, gone = self._fetch(ch)
        if self.building is not None:
            # The build holds its writer open between pages; its changes are replayed (re-read from
            # the database, so always current) when it next commits.
            with self._plock:
                self._pending.absorb(ch)
        n = len(found) + len(gone)
        if self.live is not None:
            try:
                n = self._write(self.live, found, gone, ch.erased, ch.last_pos, meta=True)
            except Exception:
                # The live index broke under us: drop it and rebuild; the new one gets this batch.
                log.exception("search index %s failed to commit; rebuilding", self.live_gen)
                self.live = None
                self._loop_call(lambda: self.rebuild("corrupt"))
        self.offset = max(self.offset, ch.last_pos)
        self.indexed += n
        return n

    def _loop_call(self, fn: Callable[[], None]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def _write(
        self, ix: Index, docs: list[Any], gone: list[str], erased: set[str], pos: int, *, meta: bool
    ) -> int:
        """One batch in one commit. The live index (``meta``: its offset moves) is written by the
        committer's child process, so a commit never holds the node's GIL; a build in progress is
        written here, in the indexer's thread."""
        fields = [d.fields() for d in docs]
        if meta:
            self.meta.offset = max(self.meta.offset, pos)
            stored = msgspec.json.encode(self.meta)
            if self.committer is not None:
                self.committer.write(ix, fields, gone, sorted(erased), stored)
            else:
                committer.write(ix, fields, gone, sorted(erased), stored)
        else:  # the index being built: the scan must replace, not duplicate, these
            committer.write(ix, fields, gone, sorted(erased), None)
            self._touched.update(d.key for d in docs)
        return len(docs) + len(gone)

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
                await self._brun(self._abandon)
                raise
            except Exception as err:
                log.exception("search rebuild failed; retrying in %.0fs", delay)
                self.state, self.reason = "failed", f"rebuild failed: {type(err).__name__}: {err}"
                await self._brun(self._abandon)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
                self.state, self.reason = "rebuilding", reason

    def _begin(self) -> tuple[str, int, int]:
        gen = f"g{time.time_ns() // 1_000_000}"
        path = self._gen_path(gen)
        path.mkdir(parents=True)
        self.building = windex.create_in(str(path), self.schema)
        self._touched = set()
        self._pending = Changes()
        self._bulk, self._bulk_added = None, 0
        start = self.source.log_length()
        total = self.source.count()
        return gen, start, total

    def _page(self, kind: str, after: int) -> tuple[int, int]:
        docs, n, last = self.build_source.scan(kind, after, PAGE)
        if n:
            self.bulk_add(docs)
        return n, last

    def bulk_add(self, docs: Iterable[Any]) -> None:
        """The rebuild's writing path (the bench loads its corpus through it too): documents go to one
        open writer, committed every BULK_COMMIT documents as one new segment, without merging."""
        assert self.building is not None
        if self._bulk is None:
            self._bulk = self.building.writer(limitmb=BULK_LIMIT_MB, procs=1, multisegment=False)
        w, touched = self._bulk, self._touched
        try:
            for d in docs:
                # add is several times faster than update (no delete by key); only documents a
                # replayed live change already wrote into this build need replacing.
                if d.key in touched:
                    w.update_document(**d.fields())
                else:
                    w.add_document(**d.fields())
                self._bulk_added += 1
                self.indexed += 1
        except BaseException:
            self._bulk = None
            w.cancel()
            raise
        if self._bulk_added >= BULK_COMMIT:
            self._bulk_commit(self.build_source)

    def _bulk_commit(self, src: Source) -> None:
        """Commit the bulk writer (one segment, no merge), then replay the live changes that arrived
        meanwhile (re-read through ``src``, the calling thread's connection), so the build is whole
        at every commit point."""
        assert self.building is not None
        if self._bulk is not None:
            w, self._bulk, self._bulk_added = self._bulk, None, 0
            w.commit(merge=False)
        with self._plock:
            ch, self._pending = self._pending, Changes()
        if ch:
            found, gone = self._fetch(ch, src)
            self._write(self.building, found, gone, ch.erased, ch.last_pos, meta=False)

    def _finish(self, gen: str, start: int) -> None:
        """On the live thread, after the rebuild thread's last bulk commit: what live changes arrived
        since are replayed here, where no other can slip in before the swap."""
        assert self.building is not None and self._bulk is None
        self._bulk_commit(self.source)
        meta = Meta(offset=max(start, self.offset), complete=True, built_at=int(time.time()))
        w = self.building.writer()
        self._write_meta(w, meta)
        w.commit(merge=False)
        old = self._read_current()  # also an unreadable one, never opened as live
        self._write_current(gen)
        self.live, self.live_gen, self.meta = self.building, gen, meta
        self.building = None
        self._touched = set()
        self.offset = max(self.offset, meta.offset)
        if old and old != gen:
            shutil.rmtree(self._gen_path(old), ignore_errors=True)

    def _abandon(self) -> None:
        if self._bulk is not None:
            with contextlib.suppress(Exception):
                self._bulk.cancel()
            self._bulk = None
        with self._plock:
            self._pending = Changes()
        if self.building is not None:
            path = Path(self.building.storage.folder)
            self.building = None
            shutil.rmtree(path, ignore_errors=True)

    def _report(self, gen: str | None) -> None:
        p = Progress(state=self.state, reason=self.reason, done=self.progress[0], total=self.progress[1],
                     generation=gen, updated_at=time.time())  # fmt: skip
        try:
            write_progress(self.root, p)
        except OSError as err:
            log.warning("cannot write search progress: %s", err)

    async def _build_once(self, reason: str) -> None:
        began = time.monotonic()
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
        await self._brun(lambda: self._bulk_commit(self.build_source))
        await self._run(self._finish, gen, start)
        self.state, self.reason = "ready", ""
        self._report(gen)
        log.info(
            "search index rebuilt (%s): %d rows in %.1fs, generation %s",
            reason,
            done,
            time.monotonic() - began,
            gen,
        )

    def serving(self) -> tuple[Index | None, bool]:
        """The index searches read, and whether it is partial: the build in progress when there is
        no whole index to serve (a new node, a lost, outdated or restored-over index)."""
        live = self.live
        if live is not None:
            return live, False
        return self.building, True

    # -- maintenance and figures ------------------------------------------------------------------

    async def optimize(self) -> None:
        """Merge every segment into one. Whoosh merges at ~1 ms per document on the writer thread,
        holding up live indexing, so a large index is rebuilt instead (in the background, in big
        segments, the node serving and indexing meanwhile)."""
        if self.documents() > OPTIMIZE_MERGE_MAX:
            self.rebuild("optimize")
            return

        def run() -> None:
            if self.live is None:
                return
            w = self.live.writer()
            self.meta.optimized_at = int(time.time())
            self._write_meta(w, self.meta)
            w.commit(optimize=True)

        await self._run(run)

    def documents(self) -> int:
        ix = self.live
        if ix is None:
            return 0
        try:
            return max(0, ix.doc_count() - 1)  # less the meta document
        except Exception:
            return 0

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

        def run() -> set[str]:
            if self.live is None:
                return set()
            with self.live.searcher() as s:
                return {stored["key"] for _, stored in s.reader().iter_docs()} - {META_KEY}

        return await self._run(run)

    async def expected_keys(self) -> set[str]:
        return await self._run(lambda: set(self.source.visible_keys()))

    async def stats(self) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            out: dict[str, Any] = {"by_kind": {}, "segments": 0, "bytes": 0}
            if self.live is None:
                return out
            with self.live.searcher() as s:
                for kind in KINDS:
                    out["by_kind"][kind] = s.doc_frequency("kind", kind)
            out["segments"] = len(self.live._segments())  # type: ignore[attr-defined]
            if self.live_gen:
                out["bytes"] = sum(f.stat().st_size for f in self._gen_path(self.live_gen).iterdir())
            return out

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
        ix = windex.open_dir(str(root / gen), schema=make_schema())
        meta = Indexer.read_meta(ix)
        with ix.searcher() as s:
            counts = {k: s.doc_frequency("kind", k) for k in KINDS}
        return gen, meta, counts
    except Exception as err:
        log.debug("search index unreadable: %s", err)
        return None, None, {}
