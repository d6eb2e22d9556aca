"""Performance monitoring in /metrics: every metric the shipped Grafana dashboard queries exists in
a live scrape of a node (with Litestream replication on, so its lag is there too), and the new core
figures (event-loop lag, write group sizes) move."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

from cryb_node.app import build_app
from cryb_node.appkeys import NODE

from .conftest import analytics_config

ROOT = Path(__file__).resolve().parents[2]
# PromQL functions and keywords that look like metric names to the regex below.
_NOT_METRICS = {"histogram_quantile", "sum", "rate", "increase", "by", "le", "time", "label_values"}


def dashboard_metrics() -> set[str]:
    doc = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in doc["templating"]["list"] if v["type"] == "query"]
    names = {m for e in exprs for m in re.findall(r"\b(cryb_[a-z0-9_]+)\b", e)}
    assert names and not names & _NOT_METRICS
    return names


def scraped_names(text: str) -> set[str]:
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and line[0] != "#"}


async def test_every_metric_of_the_grafana_dashboard_is_in_a_live_scrape(aiohttp_client, tmp_path) -> None:
    replication = {"enabled": True, "type": "file", "path": str(tmp_path / "replica"), "sync_interval_s": 0.5}
    client = await aiohttp_client(build_app(analytics_config(tmp_path / "data", replication=replication)))
    await client.post("/api/v1/analytics/events", json={"events": [{"type": "page_view", "name": "/home"}]})
    await client.get("/healthz")
    text = await (await client.get("/metrics")).text()
    missing = dashboard_metrics() - scraped_names(text)
    assert not missing, f"the dashboard queries metrics /metrics lacks: {sorted(missing)}"
    for doc in ("cryb_event_loop_lag_seconds", "cryb_db_write_group_size", "cryb_replication_lag_seconds"):
        assert doc in (ROOT / "docs" / "monitoring.md").read_text()


async def test_event_loop_lag_and_write_group_sizes_are_measured(aiohttp_client, tmp_path) -> None:
    client = await aiohttp_client(build_app(analytics_config(tmp_path / "data")))
    node = client.app[NODE]
    node.loop_lag.interval = 0.02
    await asyncio.sleep(0.6)  # the probe's first (default) interval ends; it now wakes every 20 ms
    node.loop_lag._recent.clear()
    time.sleep(0.15)  # block the loop: the probe must wake late
    await asyncio.sleep(0.1)
    assert node.loop_lag.max_recent >= 0.1
    # 20 writes queued at once are committed in fewer transactions than jobs.
    before = node.db.stats.transactions
    await asyncio.gather(*(node.db.write(lambda conn: conn.execute("SELECT 1")) for _ in range(20)))
    text = await (await client.get("/metrics")).text()
    assert node.db.stats.transactions - before < 20
    assert re.search(r'^cryb_db_write_group_size_bucket\{le="\+Inf"\} [1-9]', text, re.M)
    lag = float(re.search(r"^cryb_event_loop_lag_max_seconds (\S+)", text, re.M).group(1))
    assert lag >= 0.1
