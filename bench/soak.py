"""Soak (`make soak`): 1,000 WebSocket clients on /gateway plus mixed HTTP load (messages, reads,
feeds, reactions) against one node for a fixed time. Reports the node's RSS and open file descriptors
over time, RSS growth over the last half of the run, and request latency percentiles.

Usage: python bench/soak.py [--clients 1000] [--seconds 300] [--writers 8]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import free_port, wait_up  # noqa: E402
from bench.fanout_node import NodeWorkload  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def soak(args: argparse.Namespace) -> int:
    port = free_port()
    data = tempfile.mkdtemp(prefix="cryb-soak-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYB_")}
    env.update(
        PYTHONPATH=str(ROOT), CRYB_RATE_LIMITS__ENABLED="false", CRYB_LOG__LEVEL="WARNING",
        CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT="1", CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT="8192",
        CRYB_REALTIME__CLIENT_FRAMES="100000",
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    samples: list[tuple[float, float, int]] = []
    latencies: dict[str, list[float]] = {"post message": [], "get messages": [], "feed": [], "react": []}
    received = 0
    dropped = 0
    try:
        await wait_up(base + "/healthz")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            work = NodeWorkload(http, base)
            sockets, _ = await work.setup(args.clients, args.writers)
            channel = work.channel_id
            tokens = work.sender_tokens
            deadline = time.monotonic() + args.seconds
            started = time.monotonic()

            async def listen(ws) -> None:
                nonlocal received, dropped
                beat = time.monotonic()
                while time.monotonic() < deadline:
                    try:
                        msg = await ws.receive(timeout=5)
                    except TimeoutError:
                        msg = None
                    if msg is not None and msg.type == aiohttp.WSMsgType.TEXT:
                        received += 1
                    elif msg is not None and msg.type != aiohttp.WSMsgType.TEXT:
                        dropped += 1
                        return
                    if time.monotonic() - beat > 20:
                        await ws.send_json({"op": "HEARTBEAT", "d": None})
                        beat = time.monotonic()

            async def timed(name: str, method: str, path: str, token: str, body=None) -> dict | None:
                t0 = time.perf_counter()
                headers = {"Authorization": f"Bearer {token}"}
                async with http.request(method, base + path, json=body, headers=headers) as r:
                    data = await r.json() if r.content_type.endswith("json") else None
                    if r.status >= 400:
                        raise RuntimeError(f"{name}: {r.status} {data}")
                latencies[name].append(time.perf_counter() - t0)
                return data

            async def writer(i: int) -> None:
                token = tokens[i]
                last_id = None
                while time.monotonic() < deadline:
                    roll = random.random()
                    # Chat is fanned out to every client; keep it to a rate 1,000 readers in one
                    # client process can follow, and make the rest reads.
                    if roll < 0.12:
                        path = f"/api/v1/channels/{channel}/messages"
                        body = {"content": f"soak {i} {time.time()}"}
                        msg = await timed("post message", "POST", path, token, body)
                        last_id = msg["id"]
                    elif roll < 0.6:
                        await timed(
                            "get messages", "GET", f"/api/v1/channels/{channel}/messages?limit=50", token
                        )
                    elif roll < 0.85:
                        await timed("feed", "GET", "/api/v1/feed/home?sort=hot", token)
                    elif last_id:
                        await timed("react", "PUT", f"/api/v1/messages/{last_id}/reactions/👍", token)
                    await asyncio.sleep(0.05)

            async def sampler() -> None:
                while time.monotonic() < deadline:
                    samples.append((time.monotonic() - started, rss_mib(proc.pid), open_fds(proc.pid)))
                    await asyncio.sleep(2)

            await asyncio.gather(
                sampler(), *(listen(ws) for ws in sockets), *(writer(i) for i in range(args.writers))
            )
            for ws in sockets:
                await ws.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)

    half = [rss for t, rss, _ in samples if t >= args.seconds / 2]
    growth = (half[-1] - half[0]) / half[0] * 100 if len(half) > 1 else float("nan")
    print(
        f"\nSoak: {args.clients} WebSocket clients, {args.writers} HTTP writers, {args.seconds} s, "
        f"{os.cpu_count()} cores; node exit code {code}; {received} dispatches received; "
        f"{dropped} sockets closed by the node before the end\n"
    )
    print("| t (s) | RSS (MiB) | open fds |")
    print("|---|---|---|")
    step = max(1, len(samples) // 15)
    for t, rss, fds in samples[::step] + samples[-1:]:
        print(f"| {t:.0f} | {rss:.1f} | {fds} |")
    print(f"\nRSS growth over the last half: {growth:+.1f}% (target < 10%)")
    print(f"fds: first {samples[0][2]}, last {samples[-1][2]}\n")
    print("| request | count | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, vals in latencies.items():
        if not vals:
            continue
        vals.sort()
        p95, p99 = (vals[min(len(vals) - 1, int(p * len(vals)))] * 1000 for p in (0.95, 0.99))
        print(f"| {name} | {len(vals)} | {statistics.median(vals) * 1000:.1f} | {p95:.1f} | {p99:.1f} |")
    return 0 if growth < 10 and code == 0 else 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--writers", type=int, default=8)
    sys.exit(asyncio.run(soak(ap.parse_args())))


if __name__ == "__main__":
    main()
