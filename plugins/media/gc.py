"""Cleanup and figures: orphaned uploads, unreferenced blobs and stale temp files go; `cryb media
gc` and `cryb media stats` and the scheduled job all call these same functions."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from . import queries
from .schemas import GcOut, StatsOut
from .service import MediaService

log = logging.getLogger(__name__)
TEMP_MAX_AGE_S = 3600.0


async def collect(media: MediaService, *, now: int | None = None) -> GcOut:
    db, settings = media.node.db, media.settings
    now = media.node.clock.time_ms() if now is None else now
    expired = await db.write(
        partial(queries.expire_orphans, before=now - int(settings.orphan_ttl_s * 1000), now=now)
    )
    doomed = await db.write(
        partial(queries.claim_doomed_blobs, before=now - int(settings.blob_grace_s * 1000))
    )
    deleted: list[str] = []
    failed: list[str] = []
    freed = 0
    for sha, size in doomed:
        try:
            await media.storage.delete(sha)
        except Exception:
            log.exception("media: could not delete blob %s; will retry", sha[:12])
            failed.append(sha)
        else:
            deleted.append(sha)
            freed += size
    await db.write(partial(queries.finish_deleting, deleted=deleted, failed=failed))
    strays = await _strays(media)
    temps = await asyncio.to_thread(_old_temp_files, media, now / 1000 - TEMP_MAX_AGE_S)
    out = GcOut(
        media_deleted=expired,
        blobs_deleted=len(deleted) + strays,
        bytes_freed=freed,
        temp_files_deleted=temps,
    )
    if expired or deleted or strays or temps:
        log.info("media gc: %s", out)
    return out


async def _strays(media: MediaService) -> int:
    """Blobs in storage the database does not know (a crash between storing and recording)."""
    # Rows are written before their blobs are stored, so a blob without a row is never in flight.
    count = 0
    async for key in media.storage.keys():
        if await media.node.db.fetchone(queries.KNOWN_BLOB, (key,)) is None:
            await media.storage.delete(key)
            count += 1
    return count


def _old_temp_files(media: MediaService, before: float) -> int:
    import shutil

    count = 0
    for path in media.tmp.iterdir() if media.tmp.exists() else ():
        if path.stat().st_mtime < before:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            count += 1
    return count


async def stats(media: MediaService) -> StatsOut:
    db = media.node.db
    row = await db.fetchone(queries.STATS)
    kinds = {r["kind"]: r["n"] for r in await db.fetchall(queries.BY_KIND)}
    cached = await db.fetchone(queries.CACHE_STATS)
    assert row is not None and cached is not None  # aggregates always answer one row
    return StatsOut(
        media=row["media"],
        attached=row["attached"],
        unattached=row["media"] - row["attached"],
        uploaded_bytes=row["uploaded_bytes"],
        blobs=row["blobs"],
        stored_bytes=row["stored_bytes"],
        orphaned_blobs=row["orphaned_blobs"],
        by_kind=kinds,
        backend=media.storage.name,
        remote_media=await db.fetchval("SELECT count(*) FROM media_remote"),
        cached_blobs=cached["blobs"],
        cached_bytes=cached["bytes"],
        cache_quota_bytes=media.remote.quota,
    )
