"""`make bench` (content): chat and feed figures on a large database, medians over runs, each with a
reference measured in the same run on the same node.

Rows:
  - messages created/s by 16 concurrent clients (16 members, POST /channels/{id}/messages: permission
    check, validation, signed event, projection, group commit) against POST of a demo note (a signed
    event with no rules) at the same concurrency
  - GET of 50 messages (the latest page, and a page deep in history via `before`) against GET /healthz
  - GET of the hot feed (25 posts of a forum channel) and of the home feed, against GET /healthz
The database is filled first with --messages chat messages and --posts posts (default 100k / 10k;
`--messages 1000000 --posts 100000` for the issue's figure), written as real signed events through
the node's writer in large transactions (no HTTP), then `cryb serve` is started on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, Row, free_port, wait_up

sys.path.insert(0, str(ROOT))
CLIENTS = 16


def serve(data: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYB_")}
    env.update(
        PYTHONPATH=str(ROOT),
        CRYB_RATE_LIMITS__ENABLED="false",
        CRYB_LOG__LEVEL="WARNING",
        CRYB_PLUGINS__EXTRA='["tests.demo_plugin:plugin"]',
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    wait_up(f"http://127.0.0.1:{port}/healthz", proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)


async def setup(base: str) -> dict:
    """Users, a community, its text channel and a forum channel, over HTTP."""
    async with aiohttp.ClientSession() as http:

        async def post(path: str, body: dict, token: str | None = None, method: str = "POST") -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, base + path, json=body, headers=headers) as resp:
                got = await resp.json()
                assert resp.status < 300, (path, resp.status, got)
                return got

        users = []
        for i in range(CLIENTS + 1):
            name = f"bench{i}_{random.randrange(1 << 30):x}"
            body = {
                "username": name,
                "email": f"{name}@example.test",
                "password": "long enough bench password",
            }
            got = await post("/api/v1/auth/register", body)
            users.append((got["user"]["id"], got["access_token"]))
        owner = users[0][1]
        com = await post("/api/v1/communities", {"name": "bench", "public": True}, owner)
        async with http.get(f"{base}/api/v1/communities/{com['id']}/channels") as resp:
            text = next(c["id"] for c in (await resp.json())["channels"] if c["kind"] == "text")
        forum = await post(
            f"/api/v1/communities/{com['id']}/channels", {"name": "forum", "kind": "forum"}, owner
        )
        for _, token in users[1:]:
            await post(f"/api/v1/communities/{com['id']}/members/@me", {}, token, method="PUT")
        return {"users": users, "community": com["id"], "text": text, "forum": forum["id"]}


async def fill(data: str, world: dict, messages: int, posts: int) -> float:
    """Write chat messages and posts as signed events through the writer, 5,000 per transaction."""
    from cryb_plugins.content import events as e

    from cryb_node import config as configmod
    from cryb_node.clock import new_id
    from cryb_node.node import Node

    node = Node(configmod.convert({"node": {"data_dir": data}, "log": {"level": "WARNING"}}))
    authors = [u for u, _ in world["users"]]
    started = time.perf_counter()
    async with node.running(background=False):

        async def batch(kind: str, make, n: int) -> None:
            for start in range(0, n, 5000):

                def write(tx, start=start):
                    for i in range(start, min(n, start + 5000)):
                        author = authors[i % len(authors)]
                        tx.append(kind, make(i), community=world["community"], author=author, target=new_id())

                await node.events.transaction(write)

        def message(i: int) -> e.MessageCreate:
            return e.MessageCreate(channel_id=world["text"], content=f"message {i}")

        def post(i: int) -> e.PostCreate:
            return e.PostCreate(
                channel_id=world["forum"], title=f"post {i}", body=f"body of **post** {i % 100}"
            )

        await batch("message.create", message, messages)
        await batch("post.create", post, posts)
    return time.perf_counter() - started


async def load(url: str, seconds: float, tokens: list[str], body=None) -> float:
    """Requests/s with one keep-alive connection per token for ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(tokens))) as http:

        async def worker(w: int, token: str) -> None:
            nonlocal done
            headers = {"Authorization": f"Bearer {token}"}
            i = 0
            while time.perf_counter() < deadline:
                payload = None if body is None else {body: f"bench {w} {i}"}
                async with http.request(
                    "GET" if body is None else "POST", url, json=payload, headers=headers
                ) as r:
                    await r.read()
                    if r.status >= 400:
                        raise RuntimeError(f"{url}: {r.status}")
                done += 1
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(w, t) for w, t in enumerate(tokens)))
        return done / (time.perf_counter() - started)


async def measure(base: str, world: dict, runs: int, seconds: float) -> dict[str, float]:
    tokens = [t for _, t in world["users"][1:]]
    text, forum = world["text"], world["forum"]
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        async with http.get(f"{base}/api/v1/channels/{text}/messages?limit=100", headers=headers) as resp:
            page = (await resp.json())["messages"]
        deep = page[0]["id"]  # older pages are as fast as any: keyset cursors
    urls = {
        "create": (f"{base}/api/v1/channels/{text}/messages", "content"),
        "note": (f"{base}/api/v1/demo/notes", "text"),
        "latest": (f"{base}/api/v1/channels/{text}/messages?limit=50", None),
        "deep": (f"{base}/api/v1/channels/{text}/messages?limit=50&before={deep}", None),
        "hot": (f"{base}/api/v1/channels/{forum}/posts?sort=hot&limit=25", None),
        "home": (f"{base}/api/v1/feed/home?sort=hot&limit=25", None),
        "healthz": (f"{base}/healthz", None),
    }
    samples: dict[str, list[float]] = {k: [] for k in urls}
    for _ in range(runs):
        for name, (url, body) in urls.items():
            samples[name].append(await load(url, seconds, tokens, body))
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    data = tempfile.mkdtemp(prefix="cryb-bench-content-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    node = serve(data, port)
    try:
        world = asyncio.run(setup(base))
    finally:
        stop(node)
    fill_s = asyncio.run(fill(data, world, args.messages, args.posts))
    size_mb = (Path(data) / "cryb.db").stat().st_size / 1e6
    node = serve(data, port)
    try:
        med = asyncio.run(measure(base, world, args.runs, args.seconds))
    finally:
        stop(node)
    rows = [
        Row(
            f"POST message, {CLIENTS} clients",
            "msgs/s",
            med["create"],
            "POST demo note (signed event)",
            med["note"],
        ),
        Row("GET 50 latest messages", "req/s", med["latest"], "GET /healthz", med["healthz"]),
        Row("GET 50 messages before a cursor", "req/s", med["deep"], "GET /healthz", med["healthz"]),
        Row("GET hot feed (25 posts)", "req/s", med["hot"], "GET /healthz", med["healthz"]),
        Row("GET home feed (25 posts)", "req/s", med["home"], "GET /healthz", med["healthz"]),
    ]
    print(
        f"\nCRYB content bench: {args.messages:,} messages + {args.posts:,} posts ({size_mb:,.0f} MB, written"
        f" in {fill_s:.0f} s = {(args.messages + args.posts) / fill_s:,.0f} events/s); median of {args.runs}"
        f" runs, {args.seconds:.0f}s each, {CLIENTS} connections, {os.cpu_count()} cores\n"
    )
    print(f"{'workload':36} {'median':>10} {'unit':8} {'reference':32} {'ref median':>10} {'ratio':>6}")
    for r in rows:
        print(f"{r.name:36} {r.value:10.0f} {r.unit:8} {r.reference:32} {r.ref_value:10.0f} {r.ratio:6.2f}")


if __name__ == "__main__":
    main()
