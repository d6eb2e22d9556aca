"""Sending a stored blob over HTTP: strong ETags (the sha256), 304 for If-None-Match, single byte
ranges (206/416, If-Range), and headers that stop browsers from guessing or running anything."""

from __future__ import annotations

import logging
import re

from aiohttp import web

from cryb_node.problems import Problem

from .storage import Storage

log = logging.getLogger(__name__)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single satisfiable range; None to send the whole file.
    Raises a 416 Problem for a range that lies outside the file."""
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None  # malformed or multi-range: ignoring Range is allowed (RFC 9110 14.2)
    first, last = m.group(1), m.group(2)
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end or size == 0:
        raise Problem(
            "range_not_satisfiable",
            416,
            f"the file has {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


def _matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


async def send(
    request: web.Request,
    storage: Storage,
    *,
    key: str,
    mime: str,
    size: int,
    cache_control: str,
    filename: str | None,
) -> web.StreamResponse:
    etag = f'"{key}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        # Even if a browser is tricked into rendering a file as a page, it runs nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if filename is not None:  # not an image: download rather than display when navigated to
        headers["Content-Disposition"] = _disposition(filename)
    inm = request.headers.get("If-None-Match")
    if inm is not None and _matches(inm, etag):
        return web.Response(status=304, headers=headers)
    span = None
    rng = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if rng is not None and (if_range is None or if_range.strip() == etag):
        span = byte_range(rng, size)
    start, end = span or (0, size - 1)
    chunks = storage.read(key, start, end)
    try:
        first = await anext(chunks, b"")  # fail before the status line if the blob is missing
    except Exception:
        log.exception("media: blob %s could not be read", key[:12])
        raise Problem("storage_unavailable", 503, "the file could not be read from storage") from None
    resp = web.StreamResponse(status=206 if span else 200, headers=headers)
    resp.content_type = mime
    resp.content_length = end - start + 1
    if span:
        resp.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    await resp.prepare(request)
    try:
        await resp.write(first)
        async for chunk in chunks:
            await resp.write(chunk)
    finally:
        await chunks.aclose()
    await resp.write_eof()
    return resp


def _disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_") or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
