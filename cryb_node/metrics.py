"""Prometheus metrics: one registry per node (no globals), served at /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from cryb_node.db import COMMIT_SECONDS_BUCKETS, GROUP_SIZE_BUCKETS

if TYPE_CHECKING:
    from cryb_node.backup.replication import Status
    from cryb_node.node import Node


class LoopLag:
    """Event-loop lag: a task asks to wake every ``interval`` seconds and records how late it woke.

    Anything that blocks the loop (CPU work, a synchronous call) shows here before it shows as
    request latency.
    """

    def __init__(self, interval: float = 0.5, window: int = 120) -> None:
        self.interval = interval
        self.last = 0.0
        self._recent: deque[float] = deque(maxlen=window)  # ~1 minute at the default interval
        self._task: asyncio.Task[None] | None = None

    @property
    def max_recent(self) -> float:
        return max(self._recent, default=0.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cryb-loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            began, interval = time.perf_counter(), self.interval
            await asyncio.sleep(interval)
            self.last = max(0.0, time.perf_counter() - began - interval)
            self._recent.append(self.last)


def _histogram(name: str, doc: str, bounds: tuple[float, ...], counts: list[int], total: float) -> Metric:
    cumulative, running = [], 0
    for bound, count in zip([*map(str, bounds), "+Inf"], counts, strict=True):
        running += count
        cumulative.append((bound, running))
    return HistogramMetricFamily(name, doc, buckets=cumulative, sum_value=total)


class NodeCollector:
    """Reads live figures from the node at scrape time."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        node = self.node
        yield GaugeMetricFamily("cryb_event_log_length", "Events stored in the log", value=node.events.length)
        lag = GaugeMetricFamily(
            "cryb_consumer_lag_events", "Events a bus consumer has yet to handle", labels=["consumer"]
        )
        for name, consumer in node.bus.consumers.items():
            lag.add_metric([name], consumer.lag)
        yield lag
        stats = node.db.stats
        yield CounterMetricFamily(
            "cryb_db_write_transactions", "Write transactions committed", value=stats.transactions
        )
        yield CounterMetricFamily(
            "cryb_db_write_jobs", "Write jobs committed (grouped into transactions)", value=stats.jobs
        )
        yield GaugeMetricFamily(
            "cryb_db_write_queue_depth", "Write jobs waiting for the writer", value=node.db.queue_depth
        )
        yield _histogram(
            "cryb_db_write_group_size",
            "Write jobs committed per transaction (group commit batch size)",
            GROUP_SIZE_BUCKETS,
            stats.size_counts,
            stats.jobs,
        )
        yield _histogram(
            "cryb_db_write_commit_seconds",
            "Time the writer spent running and committing one group",
            COMMIT_SECONDS_BUCKETS,
            stats.seconds_counts,
            stats.seconds_sum,
        )
        yield CounterMetricFamily(
            "cryb_db_checkpoints",
            "WAL checkpoints run beside the writer (none while Litestream replicates: it checkpoints)",
            value=node.db.checkpoints.done,
        )
        yield GaugeMetricFamily(
            "cryb_event_loop_lag_seconds", "How late the last event-loop probe woke", value=node.loop_lag.last
        )
        yield GaugeMetricFamily(
            "cryb_event_loop_lag_max_seconds",
            "Largest event-loop probe delay over the last minute",
            value=node.loop_lag.max_recent,
        )
        if node.replication is not None:
            yield from replication_metrics(node.replication.status())
        for loaded in node.plugins:
            yield from loaded.plugin.metrics(node)


def replication_metrics(st: Status) -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "cryb_replication_up", "1 while the Litestream child runs", value=int(st.state == "running")
    )
    yield GaugeMetricFamily(
        "cryb_replication_lag_seconds", "Age of the oldest write not yet in the replica", value=st.lag_s
    )
    yield GaugeMetricFamily(
        "cryb_replication_last_sync_timestamp_seconds",
        "Unix time the replica was last confirmed current (0: never)",
        value=st.last_sync_at or 0,
    )
    yield GaugeMetricFamily(
        "cryb_replication_error",
        "1 while the last replication attempt failed",
        value=int(bool(st.last_error)),
    )
    yield CounterMetricFamily("cryb_replication_errors", "Replication errors reported", value=st.errors)
    yield CounterMetricFamily("cryb_replication_restarts", "Litestream child restarts", value=st.restarts)
    yield GaugeMetricFamily(
        "cryb_replication_replica_txid", "Newest transaction in the replica", value=st.replica_txid
    )
    # Media blobs of the local media backend (none counted with the S3 backend: nothing to copy).
    yield CounterMetricFamily(
        "cryb_replication_media_copied_blobs", "Media blobs copied to the target", value=st.media_copied
    )
    yield CounterMetricFamily(
        "cryb_replication_media_copied_bytes",
        "Bytes of media blobs copied to the target",
        value=st.media_bytes,
    )
    yield GaugeMetricFamily(
        "cryb_replication_media_local_blobs",
        "Local media blobs seen by the last copy pass",
        value=st.media_blobs,
    )
    yield GaugeMetricFamily(
        "cryb_replication_media_last_run_timestamp_seconds",
        "Unix time the last successful media copy pass finished (0: never)",
        value=st.media_last_run_at or 0,
    )
    yield GaugeMetricFamily(
        "cryb_replication_media_error",
        "1 while the last media copy pass failed",
        value=int(bool(st.media_error)),
    )


def make_registry(node: Node) -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    histogram = Histogram(
        "cryb_http_request_duration_seconds",
        "HTTP request latency by route template",
        ["method", "route", "status"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    )
    registry.register(NodeCollector(node))
    return registry, histogram
