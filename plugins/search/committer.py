"""Writes to the live index, in a child process.

Whoosh is pure Python: one commit of the live index (analysis, postings, a segment's files, folding
tiny segments) holds the GIL for tens of milliseconds. In the node's own process that stalls the event
loop, and with it every realtime delivery and HTTP answer, whenever a batch is indexed. So the live
batches are written by one child process: the indexer's thread still reads the rows and builds the
documents (SQLite reads release the GIL), hands the plain field dicts over, and waits, blocking only
itself, while the child commits. The node's searchers see each commit as soon as it is on disk (a
Whoosh searcher reads the newest table of contents).

The child comes from the forkserver (a clean process started once, which forks children with this
module already imported), never from a fork of the threaded node. If the child dies it is replaced
and the batch is written again; documents replace by key and the meta offset only grows, so a
repeated batch is harmless. Everything here also runs in-process (``write``), which the rebuild and
tests use.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from whoosh import index as windex
from whoosh.index import Index

from . import whoosh_fixes  # noqa: F401 (the child needs the same fixes)
from .schema import META_KEY, make_schema

log = logging.getLogger(__name__)

TINY_DOCS, TINY_MAX = 1000, 8  # live commits: see merge_tiny


def merge_tiny(writer: Any, segments: list[Any]) -> list[Any]:
    """Merge policy for live commits: fold the tiny segments live batches make into one once there
    are TINY_MAX of them, and never touch bigger ones. Whoosh merges by re-reading every posting in
    Python (~1 ms per document), so its own MERGE_SMALL, which eventually merges big segments too,
    would stall indexing for minutes on a large index; big segments are compacted by a rebuild."""
    from whoosh.reading import SegmentReader

    tiny = [s for s in segments if s.doc_count_all() < TINY_DOCS]
    if len(tiny) < TINY_MAX:
        return segments
    for seg in tiny:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s.doc_count_all() >= TINY_DOCS]


def write(
    ix: Index, docs: list[dict[str, Any]], gone: list[str], erased: list[str], meta: bytes | None
) -> None:
    """One batch in one commit: erased authors' documents and removed keys out, documents replaced
    by key, and (for the live index) the meta document with the new offset."""
    w = ix.writer()
    w.mergetype = merge_tiny
    try:
        for user in erased:
            w.delete_by_term("author", user)
        for key in gone:
            w.delete_by_term("key", key)
        for fields in docs:
            w.update_document(**fields)
        if meta is not None:
            w.update_document(key=META_KEY, meta=meta)
    except BaseException:
        w.cancel()
        raise
    w.commit()


# -- the child's side -----------------------------------------------------------------------------

_open: dict[str, Index] = {}


def _watch(node_pid: int) -> None:
    """The child's initializer: exit when the node is gone. A node killed outright (SIGKILL, the OOM
    killer) cannot shut the pool down, and the child, holding both ends of its own queue, would
    otherwise wait forever."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(node_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass  # alive (another user's process would mean the pid was reused: rare, harmless)

    threading.Thread(target=watch, name="watch-node", daemon=True).start()


def _write_at(
    path: str, docs: list[dict[str, Any]], gone: list[str], erased: list[str], meta: bytes | None
) -> None:
    ix = _open.get(path)
    if ix is None:
        _open.clear()  # a new generation: the old one is gone or going
        ix = _open[path] = windex.open_dir(path, schema=make_schema())
    write(ix, docs, gone, erased, meta)


# -- the node's side ------------------------------------------------------------------------------


class Committer:
    """The child process that commits live batches (started on first use). If children keep dying,
    or cannot start at all, it says so in the log and commits in the calling thread instead."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self.in_thread = False  # set once the child could not be kept running

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=ctx, initializer=_watch, initargs=(os.getpid(),)
            )
        return self._pool

    def start(self) -> None:
        """Start the child now (else the first write does); errors are left to the first write."""
        try:
            self._start().submit(os.getpid).result()
        except (BrokenProcessPool, OSError) as err:
            log.warning("search: the index writer process did not start (%s)", err)
            self.close()

    def write(
        self, ix: Index, docs: list[dict[str, Any]], gone: list[str], erased: list[str], meta: bytes | None
    ) -> None:
        """Commit a batch to ``ix`` in the child; blocks the calling (indexer) thread until it is on disk."""
        path = ix.storage.folder
        for attempt in (1, 2):
            if self.in_thread:
                break
            try:
                self._start().submit(_write_at, path, docs, gone, erased, meta).result()
                return
            except (BrokenProcessPool, OSError) as err:
                log.warning("search: the index writer process failed (%s), attempt %d", err, attempt)
                self.close()
        if not self.in_thread:
            log.error("search: no index writer process; committing in the node's process from now on")
            self.in_thread = True
        write(ix, docs, gone, erased, meta)

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)
