"""The media rules: accept an upload (limits, quota, type, processing), store it content-addressed,
record it, decide who may fetch what, and hand out URLs. Implements the core's MediaStore service."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from cryb_node.clock import new_id
from cryb_node.db import Connection
from cryb_node.node import Node
from cryb_node.problems import Problem
from cryb_node.services import (
    PERMISSIONS,
    MediaRef,
    MediaRefused,
    Perm,
    Permissions,
    ServiceKey,
    SharedMedia,
    SharedVariant,
)

from . import images, pending, queries, video
from .detect import file_hash, sniff
from .remote import VARIANTS as REMOTE_VARIANTS
from .remote import RemoteCache
from .schemas import MediaOut, Settings, VariantOut
from .signing import Signer, load_or_create_key
from .storage import LocalStorage, Storage
from .upload import Counter, Received, receive

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Blob:
    sha256: str
    path: Path
    mime: str


class MediaService:
    def __init__(self, node: Node, settings: Settings, storage: Storage | None = None) -> None:
        self.node = node
        self.settings = settings
        self.root = node.data_dir / "media"
        self.tmp = self.root / "tmp"
        self.storage: Storage = storage or LocalStorage(
            Path(settings.local_path) if settings.local_path else self.root / "blobs"
        )
        self.counter = Counter()
        self.signer = Signer(load_or_create_key(node.data_dir / "keys" / "media-url.key"), node.clock)
        self._pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="media")
        self._slots = asyncio.Semaphore(settings.workers)
        self.ffmpeg: str | None = None
        base = settings.public_base_url or node.config.base_url
        self.base_url = base.rstrip("/")
        self.remote = RemoteCache(self)
        self.finisher = pending.Finisher(self)

    async def open(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        await self.remote.open()
        self.ffmpeg = video.find_ffmpeg(self.settings.ffmpeg)
        if self.node.serving:  # not in a CLI command's node: one finisher per data dir
            await self.finisher.start()
        log.info("media: storage %s, ffmpeg %s", self.storage.name, bool(self.ffmpeg))

    @property
    def avif(self) -> bool:
        """Whether AVIF variants are made: asked of libvips on first use, which loads it."""
        return self.settings.avif and images.can_encode_avif()

    async def close(self) -> None:
        await self.finisher.stop()
        self._pool.shutdown(wait=True)
        await self.storage.close()

    async def _run(self, fn: Any, *args: Any) -> Any:
        """CPU-heavy work: at most ``workers`` at once, each in the pool, never on the event loop."""
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args))

    def image_options(self) -> images.Options:
        s = self.settings
        return images.Options(
            s.max_pixels,
            s.max_frames,
            tuple(s.thumbnail_sizes),
            s.display_max_px,
            s.webp_quality,
            s.avif,  # and if libvips can encode AV1: asked in the worker thread (images.py)
            s.avif_quality,
            s.jpeg_quality,
        )

    # -- upload --------------------------------------------------------------------------------

    async def upload(self, request: web.Request, owner_id: str) -> MediaOut:
        quota = self.settings.user_quota_bytes or None
        left = None
        if quota is not None:
            used = await self.node.db.fetchval(queries.USAGE, (owner_id,), 0)
            left = max(0, quota - used)
        got = await receive(request, self.settings, self.tmp, left, self.counter)
        try:
            # Refused before any processing; the insert transaction checks again (queries.py).
            if await self.node.db.fetchone("SELECT 1 FROM media_blocklist WHERE sha256 = ?", (got.sha256,)):
                raise queries.blocked_problem()
            media_id = new_id()
            meta = dict(
                id=media_id,
                owner=owner_id,
                kind=got.detected.kind,
                mime=got.detected.mime,
                size=got.size,
                source=got.sha256,
                filename=got.filename,
                created=self.node.clock.time_ms(),
            )
            await self._store(got, meta, quota)
        finally:
            got.path.unlink(missing_ok=True)
        out = await self.describe(media_id, owner_id)
        assert out is not None
        return out

    async def ingest(self, data: bytes, owner_id: str, filename: str = "") -> MediaRef:
        """Bytes the node fetched itself (a link preview's image), through the upload's checks and
        processing (type from the bytes, limits, blocklist, decode and re-encode), attached
        publicly; MediaRefused if they are not an image the node takes."""
        detected = sniff(data[:64])
        if detected is None or detected.kind != "image":
            raise MediaRefused("not an image the node accepts")
        if len(data) > self.settings.limit_for("image"):
            raise MediaRefused("the image is larger than the upload limit")
        fd, name = tempfile.mkstemp(prefix="in-", dir=self.tmp)
        path = Path(name)
        try:
            await asyncio.to_thread(_write, fd, data)
            got = Received(path, len(data), hashlib.sha256(data).hexdigest(), detected, filename[:200])
            if await self.node.db.fetchone("SELECT 1 FROM media_blocklist WHERE sha256 = ?", (got.sha256,)):
                raise MediaRefused("these bytes are blocked on this node")
            media_id = new_id()
            meta = dict(
                id=media_id, owner=owner_id, kind="image", mime=detected.mime, size=got.size,
                source=got.sha256, filename=got.filename, created=self.node.clock.time_ms(),
            )  # fmt: skip
            try:
                await self._store(got, meta, None)
            except Problem as err:
                raise MediaRefused(err.detail) from None
        finally:
            path.unlink(missing_ok=True)
        ref = await self.attach(media_id, owner_id, None)
        if ref is None:
            raise MediaRefused("the image could not be attached")
        return ref

    async def _store(self, got: Received, meta: dict[str, Any], quota: int | None) -> None:
        """Keep received bytes as the media ``meta`` describes: a copy of an earlier upload of the
        same bytes (sharing its variants) or processed anew; variants made after the answer are
        left to the finisher, which makes them from a link to the received file."""
        keep = self.finisher.path(meta["id"])
        if got.detected.kind == "image":
            os.link(got.path, keep)
        try:
            cloned = await self.node.db.write(partial(queries.clone_existing, meta=meta, quota=quota))
            if cloned is None:
                await self._store_new(got, meta, quota)
        finally:
            if await self.node.db.fetchone(pending.PENDING, (meta["id"],)) is None:
                keep.unlink(missing_ok=True)
            else:
                self.finisher.wake()

    async def _store_new(self, got: Received, meta: dict[str, Any], quota: int | None) -> None:
        work = Path(tempfile.mkdtemp(prefix="proc-", dir=self.tmp))
        later: list[str] = []
        try:
            variants, extra, later = await self._process(got, work)
            blobs = []
            rows = []
            for v in variants:
                same = v.path == got.path
                sha, size = (got.sha256, got.size) if same else await self._run(file_hash, v.path)
                blobs.append((Blob(sha, v.path, v.mime), size))
                rows.append((v.name, sha, v.mime, size, v.width, v.height))
            meta.update(extra)
            fresh = await self._insert(meta, rows, [(b.sha256, size) for b, size in blobs], quota, later)
            try:
                for blob, _ in blobs:
                    if blob.sha256 in fresh:
                        await self.storage.put(blob.sha256, blob.path, blob.mime)
            except Exception:
                log.exception("media: storing %s failed", meta["id"])
                await self.node.db.write(
                    partial(queries.delete_media, ids=[meta["id"]], now=self.node.clock.time_ms())
                )
                raise Problem("storage_unavailable", 503, "the file could not be stored; try again") from None
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    async def _insert(
        self, meta: dict[str, Any], rows: list[Any], blobs: list[Any], quota: int | None, later: list[str]
    ) -> set[str]:
        def tx(conn: Connection) -> set[str]:
            fresh = queries.insert_media(conn, meta=meta, variants=rows, blobs=blobs, quota=quota)
            if later:
                pending.enqueue(conn, meta["id"], later, meta["created"])
            return fresh

        for _ in range(100):
            try:
                return await self.node.db.write(tx)
            except queries.BlobBusy:
                await asyncio.sleep(0.05)
        raise Problem("busy", 503, "storage cleanup is running; try again")

    async def _process(
        self, got: Received, work: Path
    ) -> tuple[list[images.Variant], dict[str, Any], list[str]]:
        """The variants to answer with, the media's fields, and the variants to make afterwards."""
        det = got.detected
        if det.kind == "image":
            try:
                res: images.ImageResult = await self._run(
                    partial(images.process, defer=self.settings.defer_slow_variants),
                    got.path,
                    det,
                    work,
                    self.image_options(),
                )
            except images.Refused as err:
                raise Problem(err.code, err.status, err.detail, field="file") from None
            extra: dict[str, Any] = dict(
                width=res.width,
                height=res.height,
                frames=res.frames if res.frames > 1 else None,
                placeholder=res.placeholder,
                dominant_color=res.dominant_color,
            )
            return res.variants, extra, res.pending
        # Video and audio are stored exactly as uploaded; a poster frame when ffmpeg is there.
        variants = [images.Variant("original", got.path, det.mime)]
        extra = {}
        if det.kind == "video" and self.ffmpeg:
            frame = await video.poster(self.ffmpeg, got.path, work)
            if frame is not None:
                try:
                    res = await self._run(images.poster, frame, work, self.image_options())
                except images.Refused:
                    log.warning("media: the poster frame of a video could not be processed")
                else:
                    variants += res.variants
                    extra = dict(
                        width=res.width,
                        height=res.height,
                        placeholder=res.placeholder,
                        dominant_color=res.dominant_color,
                    )
        return variants, extra, []

    # -- reading and access --------------------------------------------------------------------

    async def row(self, media_id: str) -> Any:
        return await self.node.db.fetchone(queries.MEDIA, (media_id,))

    async def is_private(self, m: Any) -> bool:
        """Unattached uploads are their owner's; attached ones follow their channel; no channel is
        public (avatars). Without a permissions service we cannot tell, so channel media stays private."""
        if m["attached_ms"] is None:
            return True
        if m["channel_id"] is None:
            return False
        perms: Permissions | None = self.node.services.get(PERMISSIONS)
        if perms is None:
            return True
        access = await perms.channel(None, m["channel_id"])
        return access is None or not access.has(Perm.VIEW_CHANNEL)

    async def may_view(self, m: Any, user_id: str | None) -> bool:
        if user_id is not None and user_id == m["owner_id"]:
            return True
        if not await self.is_private(m):
            return True
        perms: Permissions | None = self.node.services.get(PERMISSIONS)
        if user_id is None or m["channel_id"] is None or m["attached_ms"] is None or perms is None:
            return False
        access = await perms.channel(user_id, m["channel_id"])
        return access is not None and access.has(Perm.VIEW_CHANNEL)

    async def describe(self, media_id: str, user_id: str | None) -> MediaOut | None:
        """The media as ``user_id`` may see it (signed URLs if private), or None."""
        m = await self.row(media_id)
        remote = m is None
        if remote:  # another node's media that content here attaches (fetched on first use)
            m = await self.remote.row(media_id)
        if m is None or not await self.may_view(m, user_id):
            return None
        private = await self.is_private(m)
        expires = self.signer.expiry(self.settings.signed_url_ttl_s) if private else None
        # Pending before variants: the finisher adds the variants and clears the row in one commit,
        # so "nothing pending" read first means the variants read next are all there (the other
        # order could answer nothing pending with the new variants missing).
        later = None if remote else await self.node.db.fetchval(pending.PENDING, (media_id,))
        variants = []
        for v in await self.node.db.fetchall(REMOTE_VARIANTS if remote else queries.VARIANTS, (media_id,)):
            url = self._url(media_id, v["name"], expires)
            variants.append(
                VariantOut(
                    name=v["name"],
                    url=url,
                    mime=v["mime"],
                    size=v["size"],
                    width=v["width"],
                    height=v["height"],
                )
            )
        return MediaOut(
            pending=later.split(",") if later else [],
            id=m["id"],
            kind=m["kind"],
            mime=m["mime"],
            size=m["size"],
            width=m["width"],
            height=m["height"],
            frames=m["frames"],
            placeholder=m["placeholder"],
            dominant_color=m["dominant_color"],
            private=private,
            url_expires_at=expires,
            variants=variants,
            created_at=m["created_ms"],
            filename=m["filename"] or None,
        )

    async def local_variant(self, media_id: str, variant: str) -> tuple[Any, bool]:
        """A local upload's variant row, or the display WebP's while that variant is still being
        made (then True: a stand-in, never cached); (None, False) when there is neither."""
        row = await self.node.db.fetchone(queries.VARIANT, (media_id, variant))
        if row is not None:
            return row, False
        later = await self.node.db.fetchval(pending.PENDING, (media_id,))
        if later and variant in later.split(","):
            return await self.node.db.fetchone(queries.VARIANT, (media_id, "webp")), True
        # Not pending (any more): it may have been recorded between the two reads above.
        return await self.node.db.fetchone(queries.VARIANT, (media_id, variant)), False

    def _url(self, media_id: str, variant: str, expires: int | None) -> str:
        url = f"{self.base_url}/media/{media_id}/{variant}"
        if expires is None:
            return url
        return f"{url}?exp={expires}&sig={self.signer.sign(media_id, variant, expires)}"

    async def delete(self, media_id: str, user_id: str) -> None:
        m = await self.row(media_id)
        if m is None or m["owner_id"] != user_id:
            raise Problem("not_found", 404, "media not found")
        if m["attached_ms"] is not None:
            raise Problem("attached", 409, "this media is attached; delete the post or message instead")
        await self.node.db.write(partial(queries.delete_media, ids=[media_id], now=self.node.clock.time_ms()))

    # -- MediaStore (the core service other plugins use) -----------------------------------------

    async def get(self, media_id: str) -> MediaRef | None:
        m = await self.row(media_id)
        return None if m is None else _ref(m)

    async def attach(self, media_id: str, owner_id: str, channel_id: str | None) -> MediaRef | None:
        def tx(conn: Connection) -> Any:
            return queries.attach(conn, media_id, owner_id, channel_id, self.node.clock.time_ms())

        m = await self.node.db.write(tx)
        return None if m is None else _ref(m)

    async def detach(self, media_id: str) -> None:
        await self.node.db.write(lambda conn: conn.execute(queries.DETACH, (media_id,)))

    def url(self, media_id: str, variant: str = "original") -> str:
        return self._url(media_id, variant, None)

    def signed_url(self, media_id: str, variant: str = "original", ttl_s: int | None = None) -> str:
        ttl = self.settings.signed_url_ttl_s if ttl_s is None else ttl_s
        return self._url(media_id, variant, self.signer.expiry(ttl))

    # -- MediaShare (what peers may fetch of ours: never a cached copy of theirs) -----------------

    async def shared(self, media_id: str) -> SharedMedia | None:
        m = await self.row(media_id)
        if m is None:
            return None
        variants = [
            SharedVariant(name=v["name"], sha256=v["sha256"], mime=v["mime"], size=v["size"],
                          width=v["width"], height=v["height"])
            for v in await self.node.db.fetchall(queries.VARIANTS, (media_id,))
        ]  # fmt: skip
        return SharedMedia(
            id=m["id"], owner_id=m["owner_id"], kind=m["kind"], mime=m["mime"], size=m["size"],
            width=m["width"], height=m["height"], frames=m["frames"], placeholder=m["placeholder"],
            dominant_color=m["dominant_color"], channel_id=m["channel_id"],
            attached=m["attached_ms"] is not None, variants=variants,
        )  # fmt: skip

    async def blob_bytes(self, sha256: str) -> bytes:
        size = await self.node.db.fetchval("SELECT size FROM media_blobs WHERE sha256 = ?", (sha256,), 0)
        if not size:
            return b""
        return b"".join([chunk async for chunk in self.storage.read(sha256, 0, size - 1)])


def _ref(m: Any) -> MediaRef:
    return MediaRef(
        id=m["id"],
        owner_id=m["owner_id"],
        kind=m["kind"],
        mime=m["mime"],
        size=m["size"],
        width=m["width"],
        height=m["height"],
        channel_id=m["channel_id"],
        attached=m["attached_ms"] is not None,
        placeholder=m["placeholder"],
    )


def _write(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as out:
        out.write(data)


MEDIA: ServiceKey[MediaService] = ServiceKey("media")
