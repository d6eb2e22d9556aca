"""`make bench` (notifications): how long from a message's POST until the notifications consumer has
told everyone concerned (inbox rows written, dispatches queued), medians over runs, against a plain
message (no one to tell: the consumer only updates its index) measured in the same run.

Rows:
  - a message mentioning one member
  - @everyone in a community of --members members (each checked against blocks, permissions and
    preferences, one inbox row each, in one write transaction)
An in-process node (the same app `cryb serve` runs) on a loopback port, fast password hashing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, Row

sys.path.insert(0, str(ROOT))


async def bench(members: int, runs: int) -> list[Row]:
    from cryb_node.app import build_app
    from cryb_node.appkeys import NODE
    from tests.content.conftest import make_space, ok
    from tests.notifications.conftest import notif_config

    with tempfile.TemporaryDirectory(prefix="cryb-bench-notif-") as data:
        client = TestClient(TestServer(build_app(notif_config(Path(data) / "data"))))
        await client.start_server()
        try:
            space = await make_space(client)
            everyone = [space.member] + [await space.join() for _ in range(members - 1)]
            consumer = client.app[NODE].bus.consumers["notifications"]

            async def timed(text: str) -> float:
                started = time.perf_counter()
                await ok(
                    client, "POST", f"/channels/{space.text}/messages", space.owner, json={"content": text}
                )
                await consumer.caught_up(60)
                return (time.perf_counter() - started) * 1000

            samples: dict[str, list[float]] = {"plain": [], "one": [], "all": []}
            for i in range(runs):
                samples["plain"].append(await timed(f"plain {i}"))
                samples["one"].append(await timed(f"<@{everyone[0].id}> one {i}"))
                samples["all"].append(await timed(f"@everyone all {i}"))
        finally:
            await client.close()
    med = {k: statistics.median(v) for k, v in samples.items()}
    return [
        Row("mention of one member -> told", "ms", med["one"], "plain message (index only)", med["plain"]),
        Row(
            f"@everyone, {members} members -> told",
            "ms",
            med["all"],
            "plain message (index only)",
            med["plain"],
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--members", type=int, default=200)
    args = ap.parse_args()
    rows = asyncio.run(bench(args.members, args.runs))
    print(f"\nCRYB notifications bench: median of {args.runs} runs, {os.cpu_count()} cores\n")
    print(f"| {'measure':<40} | {'value':>10} | {'reference':<28} | {'ref value':>10} | {'ratio':>6} |")
    print(f"|{'-' * 42}|{'-' * 12}|{'-' * 30}|{'-' * 12}|{'-' * 8}|")
    for r in rows:
        value = f"{r.value:.1f} {r.unit}"
        print(
            f"| {r.name:<40} | {value:>10} | {r.reference:<28} | {r.ref_value:>7.1f} ms | {r.ratio:>6.2f} |"
        )


if __name__ == "__main__":
    main()
