"""The analytics plugin: engagement figures without surveillance. A durable bus consumer and a
batched client endpoint record raw rows with salted actor hashes (tracking.py, privacy.py);
scheduled jobs roll them up into daily tables (rollup.py) and apply the retention window; owners
and node admins read reports as JSON or CSV (routes.py, report.py). docs/analytics.md explains it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from importlib.abc import Traversable
from typing import TYPE_CHECKING

import click
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from cryb_node.bus import Subscription
from cryb_node.http.api import Api
from cryb_node.plugins import Plugin
from cryb_node.scheduler import Job

from .routes import analytics_routes
from .schemas import AnalyticsSettings
from .service import ANALYTICS, AnalyticsService

if TYPE_CHECKING:
    from cryb_node.node import Node


class AnalyticsPlugin(Plugin):
    name = "analytics"
    config_type = AnalyticsSettings

    def migrations(self) -> Traversable:
        return resources.files(__package__) / "migrations"

    def routes(self, api: Api, node: Node) -> None:
        analytics_routes(api, node)

    def setup(self, node: Node) -> None:
        settings = node.settings(self.name) or AnalyticsSettings()
        node.services.provide(ANALYTICS, AnalyticsService(node, settings))

    def subscriptions(self, node: Node) -> Iterable[Subscription]:
        return [node.services.require(ANALYTICS).subscription()]

    def jobs(self, node: Node) -> Iterable[Job]:
        svc = node.services.require(ANALYTICS)

        async def cleanup() -> None:
            await svc.cleanup()

        return [
            Job("analytics.rollup", svc.run_job, IntervalTrigger(seconds=svc.settings.rollup_interval_s)),
            Job("analytics.cleanup", cleanup, CronTrigger(hour=3, minute=41, timezone="UTC")),
        ]

    def metrics(self, node: Node) -> Iterator[Metric]:
        svc = node.services.require(ANALYTICS)
        yield CounterMetricFamily(
            "cryb_analytics_client_events", "Client analytics events accepted", value=svc.client_events
        )
        yield GaugeMetricFamily(
            "cryb_analytics_last_rollup_timestamp_seconds",
            "Unix time the rollup job last finished (0: not yet)",
            value=svc.last_rollup_at,
        )

    def private_columns(self) -> Mapping[str, Iterable[str]]:
        # With a period's salt the actor hashes of that period lead back to people.
        return {"analytics_salts": ("salt",)}

    def cli(self) -> click.Command:
        from .cli import analytics_group

        return analytics_group


plugin = AnalyticsPlugin()
