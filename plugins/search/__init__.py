"""The search plugin: an SQLite FTS5 index (a file of its own) over messages, posts, comments, people
and communities, fed from the event log by a durable bus consumer, written by one worker thread
(indexer.py), queried with permission filtering inside the query (service.py). The index is a cache
of the database: missing, stale or corrupt, it is rebuilt in the background while the node serves,
and /readyz says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterable, Iterator
from importlib import resources
from importlib.abc import Traversable
from typing import TYPE_CHECKING

import click
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from cryb_node.bus import Subscription
from cryb_node.events import Event
from cryb_node.http.api import Api
from cryb_node.plugins import Plugin, Readiness
from cryb_node.scheduler import Job
from cryb_node.services import SEARCH_INDEX, ServiceKey

from .indexer import REQUEST_FILE, Indexer, try_lock
from .routes import search_routes
from .schemas import SearchSettings
from .service import SearchService

if TYPE_CHECKING:
    from cryb_node.node import Node

log = logging.getLogger(__name__)
CONSUMER = "search"


class State:
    """The node's search parts: made on first use (routes exist before the database opens)."""

    def __init__(self, node: Node, settings: SearchSettings) -> None:
        self.node = node
        self.settings = settings
        self.root = node.data_dir / "search"
        self.indexer = Indexer(self.root, node.db_path, node.config.db.busy_timeout_ms, node.clock)
        self.service = SearchService(node, self.indexer, settings)
        self.started: asyncio.Future[bool] | None = None
        self._lock_fd: int | None = None

    async def start(self) -> bool:
        """Own and open the index (False: another process serving this data dir owns it)."""
        self._lock_fd = try_lock(self.root)
        if self._lock_fd is None:
            self.indexer.state, self.indexer.reason = "failed", "another process owns the search index"
            log.error("search: %s", self.indexer.reason)
            return False
        consumer_offset = await self.node.db.fetchval(
            "SELECT pos FROM consumer_offsets WHERE name = ?", (CONSUMER,), default=0
        )
        await self.indexer.start(consumer_offset)
        return True

    async def stop(self) -> None:
        await self.service.flush()
        if self.started is not None:
            if not self.started.done():
                self.started.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.started
            await self.indexer.close()
        self.service.readers.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def handle(self, events: list[Event]) -> None:
        """The bus consumer: at-least-once, so every change is an idempotent upsert by key."""
        assert self.started is not None
        if not await self.started:
            raise RuntimeError(self.indexer.reason)
        await self._await_ban_purges(events)
        await self.indexer.apply(events)
        if self.indexer.offset >= self.node.events.length:
            self.indexer.caught_up_at = self.node.clock.time()

    async def _await_ban_purges(self, events: list[Event]) -> None:
        # A ban's purge window is applied by the content plugin's own consumer; re-reading the
        # member's content before it ran would keep purged documents.
        bans = [e.pos for e in events if e.kind == "member.ban"]
        purger = self.node.bus.consumers.get("content.ban-purge")
        if not bans or purger is None:
            return
        clock = self.node.clock
        deadline = clock.monotonic() + self.settings.ban_purge_wait_s
        while purger.offset < max(bans) and clock.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def recheck_authors(self, user_ids: list[str]) -> None:
        """The core's SearchIndex service: see cryb_node.services. Only the serving node holds the
        index (``started`` is None in a CLI command's node)."""
        if self.started is None or not await self.started:
            return
        await self.indexer.recheck_authors(user_ids)

    async def poll_requests(self) -> None:
        """`cryb search reindex` from another process leaves a request file."""
        request = self.root / REQUEST_FILE
        if request.exists() and self.started is not None and self.started.done() and self.started.result():
            self.indexer.rebuild("requested")
            request.unlink(missing_ok=True)

    async def optimize(self) -> None:
        if self.indexer.state == "ready":
            began = self.node.clock.monotonic()
            await self.indexer.optimize()
            log.info("search index optimized in %.1fs", self.node.clock.monotonic() - began)
        await self.service.prune()


STATE: ServiceKey[State] = ServiceKey("search")


def state_of(node: Node) -> State:
    found = node.services.get(STATE)
    if found is None:
        found = State(node, node.settings("search") or SearchSettings())
        node.services.provide(STATE, found)
    return found


class SearchPlugin(Plugin):
    name = "search"
    config_type = SearchSettings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def routes(self, api: Api, node: Node) -> None:
        search_routes(api, node, state_of(node))

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        # Only a serving node (background mode) indexes: CLI commands never touch the index here.
        st = state_of(node)
        st.started = asyncio.ensure_future(st.start())
        return [
            Subscription(
                name=CONSUMER, handle=st.handle, batch_size=st.settings.batch_size, linger_s=0.1, refused=True
            )
        ]

    def jobs(self, node: Node) -> Iterable[Job]:
        st = state_of(node)
        hour = st.settings.optimize_hour_utc
        return [
            Job("search.requests", st.poll_requests, IntervalTrigger(seconds=1)),
            Job("search.optimize", st.optimize, CronTrigger(hour=hour, minute=17, timezone="UTC")),
        ]

    def setup(self, node: Node) -> None:
        node.services.provide(SEARCH_INDEX, state_of(node))

    @contextlib.asynccontextmanager
    async def lifespan(self, node: Node) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state_of(node).stop()

    async def readiness(self, node: Node) -> Readiness | None:
        st = state_of(node)
        if st.started is None:
            return None
        ix = st.indexer
        lag = max(0, node.events.length - ix.offset)
        if ix.state == "rebuilding":
            done, total = ix.progress
            return Readiness(True, f"rebuilding ({ix.reason}): {done}/{total} rows, lag {lag} events")
        if ix.state in ("failed", "opening"):
            return Readiness(ix.state == "opening", ix.reason or ix.state)
        return Readiness(True, f"ready: {ix.documents()} documents, lag {lag} events")

    def metrics(self, node: Node) -> Iterator[Metric]:
        st = state_of(node)
        if st.started is None:
            return
        ix = st.indexer
        lag = max(0, node.events.length - ix.offset)
        yield GaugeMetricFamily(
            "cryb_search_documents", "Documents in the search index", value=ix.documents()
        )
        yield GaugeMetricFamily("cryb_search_lag_events", "Committed events not yet in the index", value=lag)
        yield GaugeMetricFamily(
            "cryb_search_lag_seconds",
            "Seconds since the index last held every committed event (0 when current)",
            value=0 if lag == 0 else max(0.0, node.clock.time() - ix.caught_up_at),
        )
        yield GaugeMetricFamily(
            "cryb_search_rebuilding", "1 while the index is rebuilt", value=int(ix.state == "rebuilding")
        )
        yield CounterMetricFamily(
            "cryb_search_indexed_documents", "Documents written or removed since start", value=ix.indexed
        )

    def cli(self) -> click.Command:
        from .cli import search_group

        return search_group


plugin = SearchPlugin()
