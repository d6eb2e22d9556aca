"""Events another process appends to the log (a `cryb` CLI command beside `cryb serve`) reach the
running node's bus at once: its consumers handle them, live listeners (the gateway) get them, and
/metrics counts them, without waiting for the node itself to write something."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import aiohttp
import pysqlite3.dbapi2 as sqlite3
import websockets

from cryb_node.events import EventLog
from cryb_node.node import Node
from tests.conftest import make_config, run_cryb, write_config
from tests.demo_plugin import Note
from tests.support.waiting import eventually, eventually_blocking
from tests.users_fixtures import PASSWORD

CONFIG = """
[plugin.users]
argon2_opslimit = 1
argon2_memlimit = 8192
[rate_limits]
enabled = false
[log]
level = "WARNING"
"""


def _db(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data / 'cryb.db'}?mode=ro", uri=True)


def _metrics(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        name: float(value)
        for line in text.splitlines()
        if line and not line.startswith("#")
        for name, value in [line.rsplit(" ", 1)]
    }


def test_a_cli_written_event_reaches_the_running_nodes_consumers_within_a_second(node_process, tmp_path):
    config = write_config(tmp_path / "cryb.toml", CONFIG)
    data = tmp_path / "data"
    node = node_process(config).start()
    done = run_cryb(
        "--config", str(config), "--data", str(data),
        "user", "create", "carol", "--email", "carol@example.test", "--password", PASSWORD, "--json",
    )  # fmt: skip
    left = time.monotonic()
    assert done.returncode == 0, done.stderr
    carol = json.loads(done.stdout)["id"]
    db = _db(data)

    # The sync plugin's durable consumer (sync.homes, exactly-once) records where carol lives: the
    # running node's bus handed it the CLI's user.created.
    def homed() -> bool:
        row = db.execute("SELECT 1 FROM sync_user_homes WHERE user_id = ?", (carol,)).fetchone()
        return row is not None

    eventually_blocking(homed, timeout=1.0, what="the running node to handle the CLI's user.created")
    took = time.monotonic() - left
    assert took < 1.0, took
    pos = db.execute("SELECT max(pos) FROM events").fetchone()[0]
    offset = db.execute("SELECT pos FROM consumer_offsets WHERE name = 'sync.homes'").fetchone()[0]
    assert offset == pos

    # /metrics tells the truth: the node knows the log's length, and what its consumers have left
    def counted() -> dict[str, float]:
        m = _metrics(node.url)
        return m if m["cryb_event_log_length"] == pos else {}

    metrics = eventually_blocking(counted, timeout=1.0, what="/metrics to count the CLI's event")
    assert metrics['cryb_consumer_lag_events{consumer="sync.homes"}'] == 0


async def test_another_writers_events_are_published_once_and_in_order_among_our_own(tmp_path: Path):
    data = tmp_path / "data"
    node = Node(make_config(data))
    seen: list[int] = []
    async with node.running():
        node.bus.listen(lambda events: seen.extend(e.pos for e in events))
        first = node.events.length + 1
        # A CLI command's node: the same data dir, its own connections and event log, no bus.
        other = Node(make_config(data))
        async with other.running(background=False):

            async def write(log: EventLog, tag: str) -> None:
                for i in range(80):
                    await log.append("demo.note", Note(f"{tag}{i}", "x"))
                    if i % 7 == 0:
                        await asyncio.sleep(0.03)  # let the watcher find some in between

            await asyncio.gather(write(node.events, "ours"), write(other.events, "theirs"))
        last = await node.db.fetchval("SELECT max(pos) FROM events")
        await eventually(lambda: node.events.length == last, timeout=1.0, what="the other writer's events")
        assert seen == list(range(first, last + 1))  # every position once, in order
        tally = node.bus.consumers["demo.tally"]
        await tally.caught_up()
        assert tally.last_error is None
        assert await node.db.fetchval("SELECT count(*) FROM demo_tally_seen") == 160


async def test_a_cli_ban_reaches_open_sockets_within_a_second(node_process, tmp_path):
    config = write_config(tmp_path / "cryb.toml", CONFIG)
    data = tmp_path / "data"
    node = node_process(config).start()
    async with aiohttp.ClientSession(node.url + "/api/v1/") as http:

        async def call(method: str, path: str, token: str | None = None, **kw) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, path, headers=headers, **kw) as resp:
                assert resp.status < 300, (path, resp.status, await resp.text())
                return await resp.json() if resp.status != 204 else {}

        async def register(name: str) -> tuple[str, str]:
            body = {"username": name, "email": f"{name}@example.test", "password": PASSWORD}
            got = await call("POST", "auth/register", json=body)
            return got["user"]["id"], got["access_token"]

        _, owner = await register("owner")
        dan, dan_token = await register("dan")
        space = await call("POST", "communities", owner, json={"name": "banspace", "public": True})
        community = space["id"]
        chans = (await call("GET", f"communities/{community}/channels", owner))["channels"]
        text = next(c["id"] for c in chans if c["kind"] == "text")
        await call("PUT", f"communities/{community}/members/@me", dan_token, json={})
        said = await call("POST", f"channels/{text}/messages", dan_token, json={"content": "spam"})
        ws = await websockets.connect(f"ws://127.0.0.1:{node.port}/gateway", compression=None)
        try:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "HELLO"
            await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": owner}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "READY"
            done = await asyncio.to_thread(
                run_cryb, "--config", str(config), "--data", str(data),
                "mod", "ban", community, dan, "--delete-seconds", "600",
            )  # fmt: skip
            left = time.monotonic()
            assert done.returncode == 0, done.stderr
            # The node writes nothing meanwhile: only its bus noticing the CLI's member.ban runs the
            # purge of dan's recent messages, which the owner's open socket is told of.
            async with asyncio.timeout(1.0):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["op"] == "DISPATCH" and frame["t"] == "CONTENT_PURGE":
                        break
            assert frame["d"]["user_id"] == dan and said["id"] in frame["d"]["message_ids"], frame
            assert time.monotonic() - left < 1.0
        finally:
            await ws.close()
