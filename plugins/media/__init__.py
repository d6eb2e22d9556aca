"""The media plugin: uploads (streamed, typed from their bytes, limited and metered per user), image
processing with libvips, content-addressed storage (local folder or S3-compatible), and serving with
ETag/Range and signed URLs for private media. Provides the core's MediaStore service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from importlib import resources
from importlib.abc import Traversable

import click
from apscheduler.triggers.interval import IntervalTrigger

from cryb_node.gateway.api import Api
from cryb_node.node import Node
from cryb_node.plugins import Plugin, Readiness
from cryb_node.problems import Problem
from cryb_node.scheduler import Job
from cryb_node.services import MediaStore

from . import gc
from .cli import media_group
from .routes import media_routes
from .schemas import Settings
from .service import MediaService
from .storage import Storage


def make_storage(node: Node, settings: Settings) -> Storage | None:
    if settings.storage == "s3":
        from .s3 import S3Storage

        return S3Storage(settings.s3)
    return None  # the service's default: a local folder under the data dir


class MediaPlugin(Plugin):
    name = "media"
    config_type = Settings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def routes(self, api: Api, node: Node) -> None:
        def media() -> MediaService:
            svc = node.services.get(MediaService)
            if svc is None:
                raise Problem("unavailable", 503, "the media service is not running")
            return svc

        media_routes(api, node, node.settings(self.name), media)

    async def _lifespan(self, node: Node) -> AsyncIterator[None]:
        settings: Settings = node.settings(self.name)
        media = MediaService(node, settings, make_storage(node, settings))
        await media.open()
        node.services.provide(MediaService, media)
        node.services.provide(MediaStore, media)  # type: ignore[type-abstract]
        try:
            yield
        finally:
            await media.close()

    def lifespan(self, node: Node) -> AsyncIterator[None]:
        return self._lifespan(node)

    def jobs(self, node: Node) -> Iterable[Job]:
        async def cleanup() -> None:
            media = node.services.get(MediaService)
            if media is not None:
                await gc.collect(media)

        interval = node.settings(self.name).gc_interval_s
        yield Job("media.gc", cleanup, IntervalTrigger(seconds=interval))

    async def readiness(self, node: Node) -> Readiness:
        media = node.services.get(MediaService)
        if media is None:
            return Readiness(False, "media service not started")
        return Readiness(True, f"storage {media.storage.name}")

    def cli(self) -> click.Command:
        return media_group()


plugin = MediaPlugin()
