"""Receiving an upload: the multipart body is streamed to a temp file in chunks while it is hashed
and counted, so a file is never held whole in memory and an oversized one is cut off as soon as it
passes its limit. The type is decided from the first bytes, before the rest is accepted."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from cryb_node.problems import Problem

from .detect import SNIFF_BYTES, Detected, sniff
from .schemas import Settings

CHUNK = 64 * 1024


@dataclass
class Received:
    path: Path
    size: int
    sha256: str
    detected: Detected
    filename: str


@dataclass
class Counter:
    """Body bytes read by uploads (monotonic; /metrics and the tests read it)."""

    bytes_read: int = 0


def clean_filename(name: str | None) -> str:
    """A display name for Content-Disposition: no paths, controls or quotes; never used for typing."""
    # Browsers send UTF-8 with `"` and newlines percent-escaped; some clients escape everything.
    base = re.split(r"[\\/]", unquote(name or ""))[-1]
    base = re.sub(r'[\x00-\x1f\x7f"]', "", base).strip()[:200]
    return base


def too_large(limit: int, what: str) -> Problem:
    return Problem("payload_too_large", 413, f"{what} is larger than {limit} bytes", field="file")


async def receive(
    request: web.Request, settings: Settings, tmp_dir: Path, quota_left: int | None, counter: Counter
) -> Received:
    """Stream the multipart field ``file`` to a temp file. The caller deletes ``Received.path``."""
    if not request.content_type.startswith("multipart/form-data"):
        raise Problem("invalid_body", 400, "send the file as multipart/form-data in a field named `file`")
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as err:
        raise Problem("invalid_body", 400, f"malformed multipart body: {err}") from None
    while True:
        part = await reader.next()
        if part is None:
            raise Problem("invalid_field", 400, "a field named `file` is required", field="file")
        if isinstance(part, BodyPartReader) and part.name == "file":
            break
        await part.release()  # other form fields are ignored (and not kept)
    fd, name = tempfile.mkstemp(prefix="up-", dir=tmp_dir)
    path = Path(name)
    try:
        return await _stream(part, fd, path, settings, quota_left, counter)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


async def _stream(
    part: BodyPartReader,
    fd: int,
    path: Path,
    settings: Settings,
    quota_left: int | None,
    counter: Counter,
) -> Received:
    digest = hashlib.sha256()
    size = 0
    head = b""
    detected: Detected | None = None
    limit = settings.largest_upload
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = await part.read_chunk(CHUNK)
            if not chunk:
                break
            counter.bytes_read += len(chunk)
            size += len(chunk)
            if detected is None:
                head += chunk
                if len(head) >= SNIFF_BYTES:
                    detected = _detect(head)
                    limit = settings.limit_for(detected.kind)
            if size > limit:
                raise too_large(limit, f"a {detected.kind} upload" if detected else "an upload")
            if quota_left is not None and size > quota_left:
                raise _quota(quota_left)
            digest.update(chunk)
            # A 64 KiB write lands in the page cache in microseconds; a thread hop would cost more.
            out.write(chunk)
    if size == 0:
        raise Problem("invalid_field", 400, "the file is empty", field="file")
    if detected is None:
        detected = _detect(head)
        if size > settings.limit_for(detected.kind):
            raise too_large(settings.limit_for(detected.kind), f"a {detected.kind} upload")
    return Received(path, size, digest.hexdigest(), detected, clean_filename(part.filename))


def _detect(head: bytes) -> Detected:
    found = sniff(head)
    if found is None:
        raise Problem(
            "unsupported_media_type",
            415,
            "the file's contents are not an allowed type (JPEG, PNG, GIF, WebP, AVIF images; "
            "MP4, WebM, QuickTime video; MP3, M4A, Ogg, FLAC, WAV audio)",
            field="file",
        )
    return found


def _quota(left: int) -> Problem:
    return Problem(
        "quota_exceeded",
        413,
        f"this upload exceeds your remaining storage quota ({left} bytes)",
        field="file",
    )
