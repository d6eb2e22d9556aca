"""A member's data export as plugins write it: one ZIP file built on disk, entry by entry.

Each plugin's ``export_user`` hook (cryb_node/plugins.py) writes its own files through the sink
handed to it: whole JSON documents, JSON arrays appended to page by page, and copied files. The ZIP
is written in worker threads (compressing a large account must not stall the event loop), one entry
at a time, so nothing but the current page is ever held in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import msgspec

_encode = msgspec.json.Encoder().encode
T = TypeVar("T")


def pretty(value: Any) -> bytes:
    """JSON for people to read (the export is theirs to open), two-space indented."""
    return msgspec.json.format(_encode(value), indent=2)


class Progress(msgspec.Struct, frozen=True):
    part: str  # the plugin writing now
    parts_done: int
    parts: int
    expected: int  # items the current part said it would write (0: unknown)
    written: int  # items the current part wrote so far
    items: int  # items written in total (records and files)

    @property
    def fraction(self) -> float:
        within = min(1.0, self.written / self.expected) if self.expected else 0.0
        return min(1.0, (self.parts_done + within) / max(1, self.parts))


class JsonArray:
    """An open JSON array entry: ``await out.extend(records)`` writes one page of records."""

    def __init__(self, sink: ExportSink, handle: IO[bytes], depth: int = 1) -> None:
        self._sink = sink
        self._handle = handle
        self._indent = b"  " * depth
        self._depth = depth
        self.count = 0

    def _indented(self, encoded: bytes) -> bytes:
        # Raw newlines only ever separate JSON tokens (strings escape theirs): safe to indent at.
        return self._indent + encoded.replace(b"\n", b"\n" + self._indent)

    async def extend(self, records: Iterable[Any]) -> None:
        chunks = []
        for record in records:
            chunks.append(b"\n" if self.count == 0 else b",\n")
            chunks.append(self._indented(pretty(record)))
            self.count += 1
        if chunks:
            await self._sink._io(self._handle.write, b"".join(chunks))
            await self._sink.advance(len(chunks) // 2)

    @asynccontextmanager
    async def nested(self, head: msgspec.Struct, key: str) -> AsyncIterator[JsonArray]:
        """One object holding an array too long for memory (a conversation and its messages): the
        fields of ``head``, then ``key``: an array written page by page through the yielded writer."""
        fields = pretty(head).rstrip()
        if not fields.endswith(b"}"):
            raise TypeError("the head of a nested array must encode as a JSON object")
        fields = self._indented(fields[:-1].rstrip())
        comma = b"" if fields.endswith(b"{") else b","
        start = b"\n" if self.count == 0 else b",\n"
        key_line = b"\n" + self._indent + b"  " + _encode(key) + b": ["
        await self._sink._io(self._handle.write, start + fields + comma + key_line)
        self.count += 1
        inner = JsonArray(self._sink, self._handle, self._depth + 2)
        yield inner
        end = b"]\n" + self._indent + b"}"
        await self._sink._io(self._handle.write, b"\n" + self._indent + b"  " + end if inner.count else end)


class ExportSink:
    """The ZIP being written for one member. Entries are written one at a time (the zipfile module
    allows one open entry); callers await each step, so that holds without a lock."""

    def __init__(
        self,
        path: Path,
        user_id: str,
        *,
        parts: int = 1,
        on_progress: Callable[[Progress], Awaitable[None]] | None = None,
        progress_every_s: float = 0.5,
    ) -> None:
        self.path = path
        self.user_id = user_id
        self.names: set[str] = set()
        # README.txt paragraphs: what each file holds, in the order the files were written.
        self.descriptions: list[tuple[str, str]] = []
        # Ids of other users the files name: the users plugin writes their public names (people.json).
        self.people: set[str] = set()
        self._zip: zipfile.ZipFile | None = None
        self._pending: asyncio.Future[Any] | None = None
        self._entry: IO[bytes] | None = None  # the entry being written (one at a time)
        self._on_progress = on_progress
        self._every = progress_every_s
        self._last_report = 0.0
        self._part, self._parts, self._parts_done = "", parts, 0
        self._expected = self._written = self._items = 0

    # -- lifetime (the export job's) -----------------------------------------------------------

    async def open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._zip = await self._io(zipfile.ZipFile, self.path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)

    async def close(self) -> None:
        """Finish the ZIP (its central directory is written now)."""
        if self._zip is not None:
            zf, self._zip = self._zip, None
            await self._io(zf.close)

    async def abort(self) -> None:
        """Give up (cancelled, or a part failed): let the step under way end, then drop the file."""
        if self._pending is not None:
            await asyncio.wait([self._pending])
        entry, zf = self._entry, self._zip
        self._entry = self._zip = None

        def drop() -> None:
            for closing in (entry, zf):  # closed properly, so nothing is left to fail in a finaliser
                if closing is not None:
                    with contextlib.suppress(Exception):
                        closing.close()
            self.path.unlink(missing_ok=True)

        await asyncio.to_thread(drop)

    async def begin_part(self, name: str) -> None:
        self._part, self._expected, self._written = name, 0, 0
        await self._report(force=True)

    async def end_part(self) -> None:
        self._parts_done += 1
        self._expected = self._written = 0
        await self._report(force=True)

    @property
    def progress(self) -> Progress:
        return Progress(self._part, self._parts_done, self._parts, self._expected, self._written, self._items)

    # -- what plugins call ----------------------------------------------------------------------

    def describe(self, name: str, text: str) -> None:
        """A paragraph for README.txt explaining the file (or folder) ``name``."""
        self.descriptions.append((name, text))

    def mention(self, *user_ids: str | None) -> None:
        """Other users the files name (by id): people.json gives their public names."""
        self.people.update(u for u in user_ids if u and u != self.user_id)

    def expect(self, items: int) -> None:
        """The current part is about to write about ``items`` records or files (for progress)."""
        self._expected += max(0, items)

    async def advance(self, items: int = 1) -> None:
        self._written += items
        self._items += items
        await self._report()

    async def write_json(self, name: str, value: Any) -> None:
        """A whole (small) JSON document."""
        data = pretty(value) + b"\n"
        await self._io(self._zip_or_fail().writestr, self._info(name), data)

    async def write_text(self, name: str, text: str) -> None:
        await self._io(self._zip_or_fail().writestr, self._info(name), text.encode())

    @asynccontextmanager
    async def json_array(self, name: str) -> AsyncIterator[JsonArray]:
        """A JSON array written page by page: ``async with sink.json_array("x.json") as out:``."""
        handle = await self._open_entry(self._info(name))
        out = JsonArray(self, handle)
        await self._io(handle.write, b"[")
        yield out
        await self._io(handle.write, b"\n]\n" if out.count else b"]\n")
        await self._close_entry()

    async def copy(self, name: str, chunks: AsyncIterator[bytes]) -> None:
        """A file's bytes, stored as they are (media is compressed already)."""
        info = self._info(name, zipfile.ZIP_STORED)
        handle = await self._open_entry(info)
        async for chunk in chunks:
            await self._io(handle.write, chunk)
        await self._close_entry()
        await self.advance()

    # -- inside ---------------------------------------------------------------------------------

    async def _io(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """File work in a worker thread, one step at a time. A cancelled caller stops waiting but
        the step runs to its end, and the next step (or ``abort``) waits for it: the ZIP is never
        touched by two threads at once."""
        if self._pending is not None and not self._pending.done():
            await asyncio.wait([self._pending])
        pending = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kw))
        self._pending = pending
        return await asyncio.shield(pending)

    async def _open_entry(self, info: zipfile.ZipInfo) -> IO[bytes]:
        zf = self._zip_or_fail()

        def open_entry() -> IO[bytes]:
            # Recorded in the thread, so abort() closes it even if the caller was cancelled meanwhile.
            self._entry = zf.open(info, "w", force_zip64=True)
            return self._entry

        return await self._io(open_entry)

    async def _close_entry(self) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            await self._io(entry.close)

    def _zip_or_fail(self) -> zipfile.ZipFile:
        if self._zip is None:
            raise RuntimeError("the export is not open")
        return self._zip

    def _info(self, name: str, compress: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
        if name in self.names or name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"export entry {name!r} is taken or not a plain relative name")
        self.names.add(name)
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.compress_type = compress
        info.external_attr = 0o600 << 16
        return info

    async def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._on_progress is None or (not force and now - self._last_report < self._every):
            return
        self._last_report = now
        await self._on_progress(self.progress)
