"""The media plugin's part of a member's data export: the bytes of every file they uploaded here
(uploads/) and what the node knows of each (media.json). Copies of other nodes' media are not theirs
to export and are left out."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.export import ExportSink

from . import queries

if TYPE_CHECKING:
    from .service import MediaService

log = logging.getLogger(__name__)
PAGE = 200


class MediaRecord(msgspec.Struct, kw_only=True):
    id: str
    kind: str
    mime: str
    filename: str  # the name it was uploaded with
    size: int  # bytes uploaded
    width: int | None
    height: int | None
    created_at: int  # ms since epoch
    attached: bool  # used in a message, post or profile (an unused upload is deleted after a day)
    channel_id: str | None
    file: str | None  # its path in this ZIP (None: taken down, or the stored file could not be read)
    sha256: str  # of the bytes in ``file``
    taken_down: bool = False  # removed by the node's admins: its files are gone


async def _pages(media: MediaService, user_id: str) -> AsyncIterator[list[Any]]:
    after = ""
    while True:
        rows = await media.node.db.fetchall(queries.EXPORT_PAGE, (user_id, after, PAGE))
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1]["id"]


def _mime(r: Any) -> str:
    """The type of the file exported: the original's as stored, else the upload's."""
    return r["original_mime"] or r["mime"]


def _file_name(r: Any) -> str:
    return f"uploads/{r['id']}{mimetypes.guess_extension(_mime(r)) or ''}"


async def export_member(media: MediaService, user_id: str, sink: ExportSink) -> None:
    uploads = await media.node.db.fetchval("SELECT count(*) FROM media WHERE owner_id = ?", (user_id,), 0)
    sink.expect(2 * uploads)  # each file, then its record
    # Two walks: the files first, then media.json (a ZIP is written one entry at a time).
    missing: set[str] = set()
    async for rows in _pages(media, user_id):
        for r in rows:
            sha, size = r["original_sha256"], r["original_size"]
            if sha is None or r["taken_down"] or not await _copy(media, sink, _file_name(r), sha, size):
                missing.add(r["id"])
    async with sink.json_array("media.json") as out:
        async for rows in _pages(media, user_id):
            await out.extend(
                MediaRecord(
                    id=r["id"],
                    kind=r["kind"],
                    mime=_mime(r),
                    filename=r["filename"],
                    size=r["size"],
                    width=r["width"],
                    height=r["height"],
                    created_at=r["created_ms"],
                    attached=r["attached_ms"] is not None,
                    channel_id=r["channel_id"],
                    file=None if r["id"] in missing else _file_name(r),
                    sha256=r["original_sha256"] or "",
                    taken_down=bool(r["taken_down"]),
                )
                for r in rows
            )
    sink.describe(
        "uploads/",
        "The files you uploaded, one per upload, named by its id. Images are the full-size version"
        " the node keeps, which it cleaned on upload (turned upright, camera and location metadata"
        " removed); video and audio are the bytes you sent.",
    )
    sink.describe(
        "media.json",
        "One entry per upload: its type, the name you gave it, its size, when you uploaded it, where"
        " it is used, the file in uploads/ and that file's sha256 (none if the node's admins took it"
        " down: its files are gone).",
    )


async def _copy(media: MediaService, sink: ExportSink, name: str, sha256: str, size: int) -> bool:
    if not await media.storage.exists(sha256):
        # Removed under us (a take-down, the cleanup job): the record says so, the rest goes on.
        log.warning("export: the stored file of an upload is missing")
        return False
    await sink.copy(name, media.storage.read(sha256, 0, size - 1))
    return True
