"""Prometheus metrics: one registry per node (no globals), served at /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from cryb_node.node import Node
    from cryb_node.replication import Status


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
