"""Variants made after the upload is answered: AVIF and the full-size original of a large photo.

An upload is answered once its display-size WebP and thumbnails exist (what every client shows);
the slow variants are listed in ``media_pending`` in the same transaction that records the upload,
and the upload's bytes wait in ``data/media/pending/<media_id>``. A worker task makes them in the
media thread pool, stores the files, records the variants and clears the row, so a crash or restart
in between only delays them: the node finishes every listed row when it starts again. Until then
``GET /api/v1/media/{id}`` names them in ``pending`` and their URLs serve the display WebP; once they
exist the uploader's gateway sessions get a ``MEDIA_UPDATE`` dispatch with the media as GET shows it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.db import Connection
from cryb_node.realtime.protocol import Dispatch

from . import images, queries
from .detect import SNIFF_BYTES, file_hash, sniff

if TYPE_CHECKING:
    from .service import MediaService

log = logging.getLogger(__name__)

# Blob rows reserved before their files are stored are not the cleanup job's before this is over.
RESERVE_MS = 15 * 60 * 1000
# Sent to the uploader's sessions when the pending variants exist: the media as GET shows it.
UPDATE = "MEDIA_UPDATE"
# A row that keeps failing (unreadable bytes, a bug) is given up after this many tries, so it cannot
# spin; its media keeps the variants it was answered with, and the waiting bytes are deleted. The
# tries are spread out (RETRY_S after the first failure, doubling), so a passing fault (an object
# store that timed out, a full disk being cleared) does not cost the photo its original.
MAX_ATTEMPTS = 4
RETRY_S = 2.0
PENDING = "SELECT variants FROM media_pending WHERE media_id = ?"
DUE = "SELECT media_id, variants FROM media_pending WHERE attempts < ? ORDER BY created_ms LIMIT 16"


def enqueue(conn: Connection, media_id: str, names: list[str], now: int) -> None:
    """Called in the transaction that records the upload."""
    conn.execute(
        "INSERT INTO media_pending (media_id, variants, created_ms) VALUES (?, ?, ?)",
        (media_id, ",".join(names), now),
    )


def _record(
    conn: Connection, *, media_id: str, rows: list[Any], blobs: list[tuple[str, int]], now: int
) -> set[str] | None:
    """Add the finished variants and clear the row; the blob keys storage still needs, or None
    when the media is gone (deleted or taken down meanwhile: the files are not kept)."""
    if conn.execute(queries.MEDIA, (media_id,)).fetchone() is None:
        conn.execute("DELETE FROM media_pending WHERE media_id = ?", (media_id,))
        # The files just stored are orphans from now, like a deleted upload's (not after RESERVE_MS).
        conn.executemany(
            "UPDATE media_blobs SET orphaned_ms = ? WHERE sha256 = ? AND orphaned_ms > ?"
            " AND NOT EXISTS (SELECT 1 FROM media_variants v WHERE v.sha256 = media_blobs.sha256)",
            [(now, sha, now) for sha, _ in blobs],
        )
        return None
    queries.check_blocked(conn, [sha for sha, _ in blobs])
    for sha, _ in blobs:  # the cleanup job removed a reserved row (and its file) meanwhile: again
        if conn.execute("SELECT 1 FROM media_blobs WHERE sha256 = ?", (sha,)).fetchone() is None:
            raise queries.BlobBusy(sha)
    fresh = queries.add_blobs(conn, blobs, now)
    conn.executemany(
        "INSERT OR REPLACE INTO media_variants (media_id, name, sha256, mime, size, width, height)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(media_id, *r) for r in rows],
    )
    conn.execute("DELETE FROM media_pending WHERE media_id = ?", (media_id,))
    return fresh


class Finisher:
    """The worker that empties ``media_pending``; one per media service, started with it."""

    def __init__(self, media: MediaService) -> None:
        self.media = media
        self.dir = media.root / "pending"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # media_id -> the node's monotonic time before which a row that failed is not tried again
        self._not_before: dict[str, float] = {}
        # How many rows this process has finished (the tests read it).
        self.finished = 0

    def path(self, media_id: str) -> Path:
        return self.dir / media_id

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        await self._sweep()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="media.pending")
        self._wake.set()  # whatever a previous run left

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _sweep(self) -> None:
        """Bytes with no row (the upload's transaction never committed, or the media is gone)."""
        rows = await self.media.node.db.fetchall("SELECT media_id FROM media_pending")
        listed = {r["media_id"] for r in rows}
        for path in self.dir.iterdir():
            if path.name not in listed:
                path.unlink(missing_ok=True)

    async def _run(self) -> None:
        clock = self.media.node.clock
        wait: float | None = None
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass
            self._wake.clear()
            wait = None
            while True:
                rows = await self.media.node.db.fetchall(DUE, (MAX_ATTEMPTS,))
                now = clock.monotonic()
                due = [r for r in rows if self._not_before.get(r["media_id"], 0) <= now]
                if not due:  # nothing, or only rows waiting to be tried again
                    later = [
                        self._not_before[r["media_id"]] for r in rows if r["media_id"] in self._not_before
                    ]
                    wait = max(0.0, min(later) - now) if later else None
                    break
                for row in due:
                    await self._finish(row["media_id"], row["variants"].split(","))

    async def _finish(self, media_id: str, names: list[str]) -> None:
        db = self.media.node.db
        src = self.path(media_id)
        await db.write(lambda c: c.execute(
            "UPDATE media_pending SET attempts = attempts + 1 WHERE media_id = ?", (media_id,)))  # fmt: skip
        work = Path(tempfile.mkdtemp(prefix="finish-", dir=self.media.tmp))
        try:
            fresh = await self._make(media_id, names, src, work)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("media: making the pending variants of %s failed", media_id)
            tries = await db.fetchval("SELECT attempts FROM media_pending WHERE media_id = ?", (media_id,), 0)
            delay = RETRY_S * 2 ** max(0, tries - 1)
            self._not_before[media_id] = self.media.node.clock.monotonic() + delay
            if tries >= MAX_ATTEMPTS:
                self._not_before.pop(media_id, None)
                log.error("media: gave up on the pending variants of %s: %s", media_id, ",".join(names))
                await db.write(
                    lambda c: c.execute("DELETE FROM media_pending WHERE media_id = ?", (media_id,))
                )
                src.unlink(missing_ok=True)
            return
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        self._not_before.pop(media_id, None)
        if fresh is not None or await db.fetchone(PENDING, (media_id,)) is None:
            src.unlink(missing_ok=True)
        if fresh is not None:
            await self._announce(media_id)
        self.finished += 1

    async def _announce(self, media_id: str) -> None:
        row = await self.media.row(media_id)
        out = None if row is None else await self.media.describe(media_id, row["owner_id"])
        if out is not None:
            users = frozenset({row["owner_id"]})
            self.media.node.realtime.publish(Dispatch(UPDATE, msgspec.to_builtins(out), users=users))

    async def _make(self, media_id: str, names: list[str], src: Path, work: Path) -> set[str] | None:
        media = self.media
        if not src.exists():
            log.warning("media: the bytes of %s to finish are missing; left as answered", media_id)
            await media.node.db.write(lambda c: c.execute("DELETE FROM media_pending WHERE media_id = ?",
                                                          (media_id,)))  # fmt: skip
            return None
        with src.open("rb") as f:
            det = sniff(f.read(SNIFF_BYTES))
        if det is None or det.kind != "image":
            raise ValueError(f"pending bytes of {media_id} are not an image")
        variants: list[images.Variant] = await media._run(
            images.finish, src, det, work, media.image_options(), names
        )
        stored: list[tuple[images.Variant, str, int]] = []
        for v in variants:
            sha, size = await media._run(file_hash, v.path)
            stored.append((v, sha, size))
        rows = [(v.name, sha, v.mime, size, v.width, v.height) for v, sha, size in stored]
        blobs = [(sha, size) for _, sha, size in stored]
        for _ in range(100):
            try:
                # Rows before files (the cleanup job deletes stored files it has no row for); the
                # files before the variants, so a listed variant is always there to serve.
                until = media.node.clock.time_ms() + RESERVE_MS
                await media.node.db.write(partial(queries.reserve_blobs, blobs=blobs, until=until))
                for v, sha, _ in stored:
                    await media.storage.put(sha, v.path, v.mime)
                now = media.node.clock.time_ms()
                fresh = await media.node.db.write(
                    partial(_record, media_id=media_id, rows=rows, blobs=blobs, now=now)
                )
            except queries.BlobBusy:  # the cleanup job took one of them: again once it is done
                await asyncio.sleep(0.05)
                continue
            # None: the media was deleted or taken down meanwhile; its files stay as orphaned rows,
            # removed by the cleanup job after the grace period like any deleted upload's.
            return fresh
        raise queries.BlobBusy("the cleanup job kept a blob busy")
