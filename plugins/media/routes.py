"""HTTP routes of the media plugin: parse, authorise, hand to the service (service.py)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from cryb_node.http.api import Api, Call
from cryb_node.node import Node
from cryb_node.problems import Problem, not_found

from . import serving
from .schemas import MediaOut, Settings, SignedQuery
from .service import MediaService

# Multipart framing (boundaries, part headers) on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024
IMMUTABLE = "public, max-age=31536000, immutable"


def media_routes(api: Api, node: Node, settings: Settings, media: Callable[[], MediaService]) -> None:
    @api.route(
        "POST",
        "/api/v1/media",
        response=MediaOut,
        status=201,
        bucket="write",
        auth="required",
        max_body=settings.largest_upload + MULTIPART_OVERHEAD,
    )
    async def upload_media(call: Call) -> MediaOut:
        """Upload a file (multipart/form-data, field `file`): an image, a video or an audio file.

        The type is read from the file's bytes. Images are cleaned (metadata stripped, orientation
        applied) and resized; the response lists every variant's URL (signed until attached)."""
        return await media().upload(call.request, call.user_id)

    @api.route("GET", "/api/v1/media/{media_id}", response=MediaOut, auth="optional")
    async def get_media(call: Call) -> MediaOut:
        """An upload's details and variant URLs (signed, expiring URLs when it is private)."""
        principal = call.principal
        out = await media().describe(call.path("media_id"), principal.user_id if principal else None)
        if out is None:
            raise not_found("media")
        return out

    @api.route("DELETE", "/api/v1/media/{media_id}", bucket="write", auth="required")
    async def delete_media(call: Call) -> None:
        """Delete one of your uploads that is not attached to anything."""
        await media().delete(call.path("media_id"), call.user_id)

    @api.route(
        "GET",
        "/media/{media_id}/{variant}",
        query=SignedQuery,
        bucket=None,
        auth="none",
        produces="application/octet-stream",
    )
    async def serve_media(call: Call) -> web.StreamResponse:
        """A stored file (Range, ETag/304). Private media needs `exp` and `sig` from a signed URL."""
        svc = media()
        media_id, variant = call.path("media_id"), call.path("variant")
        # A variant still being made (pending.py) serves the display WebP meanwhile, never cached.
        row, standin = await svc.local_variant(media_id, variant)
        remote = row is None
        if remote:  # another node's media attached by content here: fetched lazily, cached
            row = await svc.remote.variant(media_id, variant)
        if row is None:
            raise not_found("media")
        if await svc.is_private(row):
            svc.signer.verify(media_id, variant, call.query.exp, call.query.sig)
            # Browsers and proxies may keep it, but only as long as the link is valid.
            cache = f"private, max-age={max(0, call.query.exp - int(node.clock.time()))}, immutable"
        else:
            cache = IMMUTABLE
        if standin:
            cache = "no-cache"
        storage, key = (
            await svc.remote.blob(media_id, variant, row) if remote else (svc.storage, row["sha256"])
        )
        return await serving.send(
            call.request,
            storage,
            key=key,
            mime=row["mime"],
            size=row["size"],
            cache_control=cache,
            filename=None if row["mime"].startswith("image/") else (row["filename"] or f"{media_id}.bin"),
        )


def not_ready() -> Problem:
    return Problem("unavailable", 503, "the media service is starting")
