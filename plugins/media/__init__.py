"""The media plugin: uploads (streamed, typed from their bytes, limited and metered per user), image
processing with libvips, content-addressed storage (local folder or S3-compatible), and serving with
ETag/Range and signed URLs for private media, and the node admin's take-downs and sha256 block list
(takedown.py). Provides the core's MediaStore and MediaShare services.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from importlib import resources
from importlib.abc import Traversable
from typing import Any

import click
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cryb_node.bus import Subscription
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.export import ExportSink
from cryb_node.http.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin, Readiness
from cryb_node.scheduler import Job
from cryb_node.services import MEDIA_SHARE, MEDIA_STORE

from . import attached, export, gc
from .admin_routes import admin_media_routes
from .cli import media_group
from .remote import ATTACHING, DROPPING, drop_refs, record_refs
from .routes import media_routes
from .schemas import Settings
from .service import MEDIA, MediaService
from .storage import Storage


def make_storage(node: Node, settings: Settings) -> Storage | None:
    if settings.storage == "s3":
        from .s3 import S3Storage

        return S3Storage(settings.s3)
    return None  # the service's default: a local folder under the data dir


def _record_refs(node: Node) -> Callable[[Connection, list[Event]], None]:
    def handle(conn: Connection, events: list[Event]) -> None:
        record_refs(node.identity.node_public, conn, events, node.clock.time_ms())

    return handle


def _drop_refs(node: Node) -> Callable[[Connection, list[Event]], None]:
    def handle(conn: Connection, events: list[Event]) -> None:
        freed = drop_refs(node.data_dir / "media" / "cache", conn, events)
        media = node.services.get(MEDIA)
        if freed and media is not None:
            media.remote.cached_bytes = max(0, media.remote.cached_bytes - freed)

    return handle


def _follow_content(node: Node) -> Callable[[Connection, list[Event]], None]:
    def handle(conn: Connection, events: list[Event]) -> None:
        attached.handle(conn, events, node.clock.time_ms())

    return handle


class MediaPlugin(Plugin):
    name = "media"
    config_type = Settings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def routes(self, api: Api, node: Node) -> None:
        def media() -> MediaService:
            return node.services.require(MEDIA)

        media_routes(api, node, node.settings(self.name), media)
        admin_media_routes(api, node, media)

    def setup(self, node: Node) -> None:
        settings: Settings = node.settings(self.name)
        media = MediaService(node, settings, make_storage(node, settings))
        node.services.provide(MEDIA, media)
        node.services.provide(MEDIA_STORE, media)
        node.services.provide(MEDIA_SHARE, media)

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        media = node.services.require(MEDIA)
        await media.open()
        try:
            yield
        finally:
            await media.close()

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        # Which node holds the media that replicated content attaches (remote.py).
        return [
            Subscription(name="media.remote-refs", handle_in_tx=_record_refs(node), kinds=ATTACHING),
            Subscription(name="media.remote-drops", handle_in_tx=_drop_refs(node), kinds=DROPPING),
            # Which content attaches our own uploads, and deleting them with it (attached.py).
            Subscription(
                name="media.attached", handle_in_tx=_follow_content(node), kinds=attached.KINDS, linger_s=0.2
            ),
        ]

    def metrics(self, node: Node) -> Iterable[Any]:
        media = node.services.get(MEDIA)
        if media is None:
            return []
        n = media.remote.n
        out: list[Any] = [
            CounterMetricFamily(f"cryb_media_cache_{name}", text, value=value)
            for name, text, value in (
                ("hits", "Other nodes' media served from the cache", n.hits),
                ("misses", "Other nodes' media fetched from their node to serve", n.misses),
                ("evictions", "Cached blobs evicted (least recently used) to keep the quota", n.evictions),
                ("refused", "Fetched media whose bytes did not match their sha256", n.refused),
                ("fetch_failures", "Fetches of other nodes' media that got no answer", n.failures),
            )
        ]
        out.append(GaugeMetricFamily("cryb_media_cache_bytes", "Bytes of other nodes' media cached",
                                     value=media.remote.cached_bytes))  # fmt: skip
        out.append(GaugeMetricFamily("cryb_media_cache_quota_bytes", "The cache's quota",
                                     value=media.remote.quota))  # fmt: skip
        return out

    def jobs(self, node: Node) -> Iterable[Job]:
        async def cleanup() -> None:
            await gc.collect(node.services.require(MEDIA))

        interval = node.settings(self.name).gc_interval_s
        yield Job("media.gc", cleanup, IntervalTrigger(seconds=interval))

    async def readiness(self, node: Node) -> Readiness:
        media = node.services.get(MEDIA)
        if media is None:
            return Readiness(False, "media service not started")
        return Readiness(True, f"storage {media.storage.name}")

    async def export_user(self, node: Node, user_id: str, sink: ExportSink) -> None:
        await export.export_member(node.services.require(MEDIA), user_id, sink)

    def cli(self) -> click.Command:
        return media_group()


plugin = MediaPlugin()
