"""The primary's side of the stream: publishing never holds up a write, and the stream holds every
log position once, in order, across NATS outages and primary restarts (issue 25, step 1)."""

from __future__ import annotations

import asyncio
import shutil
import time

import aiohttp
import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tests.conftest import run_cryb

from .conftest import Cluster, needs_nats
from .helpers import call, register
from .test_edges import _community, _readyz

pytestmark = needs_nats


async def _stream_positions(url: str) -> list[int]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("CRYB")
        cfg = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
        sub = await js.pull_subscribe("cryb.cryb.events", stream="CRYB", config=cfg)
        out: list[int] = []
        while len(out) < info.state.messages:
            out += [int(m.headers["Cryb-Pos"]) for m in await sub.fetch(256, timeout=5)]
        return out
    finally:
        await nc.close()


async def _published(base: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        ready = await _readyz(base)
        if "; 0 event(s) not yet published" in ready["checks"]["stream"]["detail"]:
            return ready
        assert time.monotonic() < deadline, ready
        await asyncio.sleep(0.2)


async def test_writes_go_on_while_nats_is_down_and_the_stream_gets_them_in_order(cluster: Cluster):
    cluster.nats.stop()
    primary = cluster.start_primary()  # starts and serves with no NATS at all
    # no kept-alive connections: the primary restarts on the same port
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        started = time.monotonic()
        _, owner = await register(http, primary.url, "pia")
        _, text = await _community(http, primary.url, owner, "pubroom")
        for i in range(20):
            await call(
                http, primary.url, "POST", f"channels/{text}/messages", owner, json={"content": f"m{i}"}
            )
        assert time.monotonic() - started < 15  # no write waited on NATS
        ready = await _readyz(primary.url)
        assert ready["status"] == "degraded" and not ready["checks"]["stream"]["ok"]
        cluster.nats.start()
        await _published(primary.url)
        first = await _stream_positions(cluster.nats.url)
        assert first == list(range(1, len(first) + 1)) and len(first) > 20
        # a restart resumes from the stored cursor: nothing published twice, nothing skipped
        assert primary.terminate() == 0
        primary.start()
        await call(http, primary.url, "POST", f"channels/{text}/messages", owner, json={"content": "after"})
        await _published(primary.url)
        again = await _stream_positions(cluster.nats.url)
        assert again[: len(first)] == first
        assert again == list(range(1, len(again) + 1)) and len(again) > len(first)


async def test_a_stream_that_lost_its_messages_is_filled_again_from_the_log(cluster: Cluster):
    primary = cluster.start_primary()
    async with aiohttp.ClientSession() as http:
        _, owner = await register(http, primary.url, "quin")
        _, text = await _community(http, primary.url, owner, "lostroom")
        await _published(primary.url)
        before = await _stream_positions(cluster.nats.url)
        cluster.nats.stop()
        for path in cluster.nats.store.iterdir():  # the NATS store is gone (a new, empty server)
            shutil.rmtree(path)
        cluster.nats.start()
        await call(http, primary.url, "POST", f"channels/{text}/messages", owner, json={"content": "x"})
        await _published(primary.url)
        after = await _stream_positions(cluster.nats.url)
        assert after == list(range(1, len(after) + 1)) and len(after) == len(before) + 1


async def test_reset_stream_deletes_it_and_the_primary_publishes_its_whole_log_again(cluster: Cluster):
    primary = cluster.start_primary()
    async with aiohttp.ClientSession() as http:
        _, owner = await register(http, primary.url, "rex")
        _, text = await _community(http, primary.url, owner, "resetroom")
        await _published(primary.url)
        before = await _stream_positions(cluster.nats.url)
        out = await asyncio.to_thread(
            run_cryb,
            "--config",
            str(cluster.config),
            "scale",
            "reset-stream",
            "--nats",
            cluster.nats.url,
            "--yes",
        )
        assert out.returncode == 0 and "deleted" in out.stdout, out.stderr
        await call(http, primary.url, "POST", f"channels/{text}/messages", owner, json={"content": "y"})
        await _published(primary.url)
        after = await _stream_positions(cluster.nats.url)
        assert after == list(range(1, len(before) + 2))


def test_reset_stream_without_a_nats_server_named_is_a_usage_error(tmp_path):
    out = run_cryb("--data", str(tmp_path), "scale", "reset-stream", "--yes")
    assert out.returncode == 2 and "no NATS server" in out.stderr
