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
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, Row, free_port, wait_up

sys.path.insert(0, str(ROOT))
from bench import httpload

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
            users.append((got["user"]["id"], got["access_token"], name))
        owner = users[0][1]
        com = await post("/api/v1/communities", {"name": "bench", "public": True}, owner)
        async with http.get(f"{base}/api/v1/communities/{com['id']}/channels") as resp:
            text = next(c["id"] for c in (await resp.json())["channels"] if c["kind"] == "text")
        forum = await post(
            f"/api/v1/communities/{com['id']}/channels", {"name": "forum", "kind": "forum"}, owner
        )
        for _, token, _ in users[1:]:
            await post(f"/api/v1/communities/{com['id']}/members/@me", {}, token, method="PUT")
        return {"users": users, "community": com["id"], "text": text, "forum": forum["id"]}


async def fill(data: str, world: dict, messages: int, posts: int) -> float:
    """Write chat messages and posts as signed events through the writer, 5,000 per transaction."""
    from cryb_plugins.content import events as e

    from cryb_node import config as configmod
    from cryb_node.clock import new_id
    from cryb_node.node import Node

    node = Node(configmod.convert({"node": {"data_dir": data}, "log": {"level": "WARNING"}}))
    authors = [u[0] for u in world["users"]]
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
    """Requests/s with one keep-alive connection per token for ``seconds`` (bench/httpload.py: a
    client light enough not to be what is measured)."""
    heads = [{"Authorization": f"Bearer {t}"} for t in tokens]
    parts = urlsplit(url)

    def make(w: int, i: int) -> bytes:
        if body is None:
            return httpload.encode("GET", url, heads[w])
        return httpload.encode("POST", url, heads[w], json.dumps({body: f"bench {w} {i}"}).encode())

    return (await httpload.run(f"{parts.scheme}://{parts.netloc}", len(tokens), seconds, make)).rate


async def sign_in_again(base: str, world: dict) -> None:
    """Fresh access tokens for a kept corpus (they expire between runs)."""
    async with aiohttp.ClientSession() as http:
        for user in world["users"]:
            body = {"login": user[2], "password": "long enough bench password"}
            async with http.post(f"{base}/api/v1/auth/login", json=body) as resp:
                user[1] = (await resp.json())["access_token"]


async def settle(base: str, timeout: float = 900.0) -> None:
    """Wait until the bus consumers have handled the filled events (the fill wrote them with no
    consumer running): reads measured meanwhile would share the node with that catch-up."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"{base}/metrics") as resp:
                text = await resp.text()
            lag = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("cryb_consumer_lag_events{")
            )
            if lag == 0 or time.monotonic() > deadline:
                return
            print(f"waiting for the consumers to catch up: {lag:,.0f} events", file=sys.stderr)
            await asyncio.sleep(5)


async def measure(base: str, world: dict, runs: int, seconds: float, only: list[str]) -> dict[str, float]:
    tokens = [u[1] for u in world["users"][1:]]
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
    health = urls.pop("healthz")
    urls = {k: v for k, v in urls.items() if not only or k in only}
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, (url, body) in urls.items():
            samples.setdefault(name, []).append(await load(url, seconds, tokens, body))
            # The machine is shared: each read row's reference is measured right after it.
            if body is None:
                samples.setdefault(f"healthz {name}", []).append(await load(health[0], seconds, tokens))
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--keep", metavar="DIR", help="fill DIR once and measure it again on later runs")
    ap.add_argument(
        "--pyspy", metavar="FILE", help="py-spy profile (GIL samples) of the node: first row, first run"
    )
    ap.add_argument("--only", nargs="*", default=[], help="only these rows: create note latest deep hot home")
    args = ap.parse_args()

    data = args.keep or tempfile.mkdtemp(prefix="cryb-bench-content-")
    saved = Path(data) / "bench-world.json"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fill_s = None
    if saved.exists():
        world = json.loads(saved.read_text())
    else:
        Path(data).mkdir(parents=True, exist_ok=True)
        node = serve(data, port)
        try:
            world = asyncio.run(setup(base))
        finally:
            stop(node)
        fill_s = asyncio.run(fill(data, world, args.messages, args.posts))
        world = {**world, "messages": args.messages, "posts": args.posts}
        saved.write_text(json.dumps(world))
    size_mb = (Path(data) / "cryb.db").stat().st_size / 1e6
    node = serve(data, port)
    if fill_s is None:
        asyncio.run(sign_in_again(base, world))
    asyncio.run(settle(base))
    spy = None
    if args.pyspy:
        fmt = "raw" if args.pyspy.endswith(".txt") else "speedscope"
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "-f", fmt, "-o", args.pyspy, "--gil",
             "--pid", str(node.pid), "--duration", str(int(args.seconds))],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        med = asyncio.run(measure(base, world, args.runs, args.seconds, args.only))
    finally:
        if spy is not None:
            spy.wait(60)
        stop(node)
    rows = [
        Row(f"POST message, {CLIENTS} clients", "msgs/s", med.get("create", 0),
            "POST demo note (signed event)", med.get("note", 0)),
        *(
            Row(title, "req/s", med.get(k, 0), "GET /healthz right after", med.get(f"healthz {k}", 1))
            for k, title in (
                ("latest", "GET 50 latest messages"),
                ("deep", "GET 50 messages before a cursor"),
                ("hot", "GET hot feed (25 posts)"),
                ("home", "GET home feed (25 posts)"),
            )
        ),
    ]  # fmt: skip
    written = (
        f"written in {fill_s:.0f} s = {(world['messages'] + world['posts']) / fill_s:,.0f} events/s"
        if fill_s
        else f"kept in {data}"
    )
    print(
        f"\nCRYB content bench: {world['messages']:,} messages + {world['posts']:,} posts ({size_mb:,.0f} MB,"
        f" {written}); median of {args.runs} runs, {args.seconds:.0f}s each, {CLIENTS} connections,"
        f" {os.cpu_count()} cores\n"
    )
    print(f"{'workload':36} {'median':>10} {'unit':8} {'reference':32} {'ref median':>10} {'ratio':>6}")
    for r in rows:
        if not r.value:
            continue
        print(f"{r.name:36} {r.value:10.0f} {r.unit:8} {r.reference:32} {r.ref_value:10.0f} {r.ratio:6.2f}")


if __name__ == "__main__":
    main()
