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


_SELECT = (
    "SELECT m.id, m.kind, m.mime, m.filename, m.size, m.width, m.height, m.created_ms, m.attached_ms,"
    " m.channel_id, v.sha256, v.mime, v.size,"
    " EXISTS (SELECT 1 FROM media_takedowns t WHERE t.media_id = m.id) FROM media m"
    " LEFT JOIN media_variants v ON v.media_id = m.id AND v.name = 'original'"
    # media_owner indexes (owner_id) of a WITHOUT ROWID table: its entries end in the id, so this
    # walks the index in id order.
    " WHERE m.owner_id = ? AND m.id > ? ORDER BY m.id LIMIT ?"
)


async def _pages(media: MediaService, user_id: str) -> AsyncIterator[list[Any]]:
    after = ""
    while True:
        rows = await media.node.db.fetchall(_SELECT, (user_id, after, PAGE))
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1][0]


def _file_name(r: Any) -> str:
    return f"uploads/{r[0]}{mimetypes.guess_extension(r[11] or r[2]) or ''}"


async def export_member(media: MediaService, user_id: str, sink: ExportSink) -> None:
    uploads = await media.node.db.fetchval("SELECT count(*) FROM media WHERE owner_id = ?", (user_id,), 0)
    sink.expect(2 * uploads)  # each file, then its record
    # Two walks: the files first, then media.json (a ZIP is written one entry at a time).
    missing: set[str] = set()
    async for rows in _pages(media, user_id):
        for r in rows:
            if r[10] is None or r[13] or not await _copy(media, sink, _file_name(r), r[10], r[12]):
                missing.add(r[0])
    async with sink.json_array("media.json") as out:
        async for rows in _pages(media, user_id):
            await out.extend(
                MediaRecord(
                    id=r[0],
                    kind=r[1],
                    mime=r[11] or r[2],
                    filename=r[3],
                    size=r[4],
                    width=r[5],
                    height=r[6],
                    created_at=r[7],
                    attached=r[8] is not None,
                    channel_id=r[9],
                    file=None if r[0] in missing else _file_name(r),
                    sha256=r[10] or "",
                    taken_down=bool(r[13]),
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
