"""Analytics figures (make bench): how fast the bus consumer turns events into raw rows (salt and
opt-out lookups, two keyed hashes, cohort stamps per row) against plain INSERTs of the same rows,
and how long one day's rollup takes against one scan of that day's rows. Medians of --runs runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time

from cryb_plugins.analytics import rollup, tracking
from cryb_plugins.analytics.service import ANALYTICS
from cryb_plugins.content.events import MessageCreate

from cryb_node import config as configmod
from cryb_node.clock import pack
from cryb_node.events import Event, EventBody
from cryb_node.node import Node

DAY = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)


def events(n: int, users: int, start_pos: int) -> list[Event]:
    base = int(DAY.timestamp() * 1000)
    out = []
    for i in range(n):
        hlc = pack(base + i * 1000 % 86_000_000, 0)
        body = EventBody(v=1, community="c1", origin=b"o" * 32, seq=start_pos + i, prev=None, hlc=hlc,
                         author=f"user{i % users:05d}", kind="message.create", target=f"m{start_pos + i}",
                         gov_deps=[], content_hash=None)  # fmt: skip
        out.append(
            Event(start_pos + i, b"%d" % (start_pos + i), body, MessageCreate(channel_id="ch1", content=""))
        )
    return out


async def measure(n: int, users: int, runs: int) -> list[tuple[str, float, str, float]]:
    tmp = tempfile.mkdtemp()
    cfg = configmod.convert({"node": {"data_dir": tmp}, "log": {"level": "WARNING"}})
    node = Node(cfg)
    async with node.running(background=False):
        svc = node.services.require(ANALYTICS)
        hasher = svc.hasher
        ingest, plain, roll, scan = [], [], [], []
        for r in range(runs):
            evs = events(n, users, r * n + 1)
            began = time.perf_counter()
            for i in range(0, n, 512):
                batch = evs[i : i + 512]
                await node.db.write(
                    lambda c, b=batch: tracking.record_events(tracking.Recorder(c, hasher), b)
                )
            ingest.append(n / (time.perf_counter() - began))
            rows = [
                ("2025-03-05", 10, "server", "message", "c1", "ch1", "", "", "x" * 32, "y" * 32, None, None)
            ] * n
            began = time.perf_counter()
            for i in range(0, n, 512):
                await node.db.write(lambda c, b=rows[i : i + 512]: c.executemany(tracking.INSERT, b))
            plain.append(n / (time.perf_counter() - began))
            began = time.perf_counter()
            await node.db.write(lambda c: rollup.rollup_day(c, DAY.date(), 12))
            roll.append(time.perf_counter() - began)
            began = time.perf_counter()
            await node.db.write(
                lambda c: c.execute(
                    "SELECT count(*) FROM analytics_events WHERE day = ?", ("2025-03-04",)
                ).fetchone()
            )
            scan.append(time.perf_counter() - began)
            raw = await node.db.fetchval("SELECT count(*) FROM analytics_events WHERE day = '2025-03-04'")
    med = statistics.median
    return [
        ("consumer ingest (events/s)", med(ingest), "plain executemany INSERT", med(plain)),
        (
            f"rollup of one day, {raw:,} raw rows (ms)",
            med(roll) * 1000,
            "count(*) of the day",
            med(scan) * 1000,
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    rows = asyncio.run(measure(a.events, a.users, a.runs))
    print(f"\nanalytics ({a.events:,} message events per run, {a.users} users, median of {a.runs})")
    print("| measure | value | reference | ref value | ratio |\n|---|---|---|---|---|")
    for name, value, ref, ref_value in rows:
        print(f"| {name} | {value:,.1f} | {ref} | {ref_value:,.1f} | {value / ref_value:.2f} |")


if __name__ == "__main__":
    main()
