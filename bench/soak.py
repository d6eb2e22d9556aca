"""Soak (`make soak`): 1,000 WebSocket clients on /gateway plus mixed HTTP load (messages, reads,
feeds, reactions) against one node for a fixed time. Reports the node's RSS and open file descriptors
over time, RSS growth over the last half of the run, and request latency percentiles.

The clients are spread over several listener processes so that every socket keeps reading (one
process cannot parse a thousand sockets' dispatches, and the node rightly cuts off clients that stop
reading). With --trace the node runs under tracemalloc and the biggest allocation growths between the
middle and the end of the run are printed, to tell a leak from caches filling up.

Usage: python bench/soak.py [--clients 1000] [--seconds 300] [--writers 8] [--procs 4] [--trace]
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

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fanout import free_port, wait_up  # noqa: E402
from bench.fanout_node import NodeWorkload, identify  # noqa: E402
from bench.nodeenv import load_env  # noqa: E402

# Runs the node with tracemalloc: the first SIGUSR1 takes the baseline snapshot, the second writes
# the largest growths since then to the file named by SOAK_TRACE_FILE.
TRACED_NODE = """
import os, runpy, signal, sys, tracemalloc
tracemalloc.start(8)
base = []
def snap(*_):
    if not base:
        base.append(tracemalloc.take_snapshot())
        return
    stats = tracemalloc.take_snapshot().compare_to(base[0], "traceback")
    grown = sorted((st for st in stats if st.size_diff > 0), key=lambda st: -st.size_diff)
    with open(os.environ["SOAK_TRACE_FILE"], "w") as out:
        out.write(f"total {sum(st.size_diff for st in stats) / 1024:+.0f} KiB\\n")
        for st in grown[:10]:
            out.write(f"{st.size_diff / 1024:+.0f} KiB in {st.count_diff:+d} blocks\\n")
            for line in st.traceback.format()[-6:]:
                out.write(f"    {line}\\n")
signal.signal(signal.SIGUSR1, snap)
sys.argv = ["cryb_node", *sys.argv[1:]]
runpy.run_module("cryb_node", run_name="__main__")
"""


async def listener_process(spec: dict) -> dict:
    """One listener process: identify its share of the clients, read until the deadline."""
    received = dropped = 0
    deadline = time.monotonic() + spec["seconds"]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = [await identify(http, spec["base"], t) for t in spec["tokens"]]
        print("ready", flush=True)

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
                elif msg is not None:
                    dropped += 1
                    return
                if time.monotonic() - beat > 20:
                    await ws.send_json({"op": "HEARTBEAT", "d": None})
                    beat = time.monotonic()

        await asyncio.gather(*(listen(ws) for ws in sockets))
        for ws in sockets:
            await ws.close()
    return {"received": received, "dropped": dropped}


async def start_listeners(base: str, tokens: list[str], procs: int, seconds: float) -> list:
    children = []
    for i in range(procs):
        share = tokens[i::procs]
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--listener",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps({"base": base, "tokens": share, "seconds": seconds}).encode())
        child.stdin.close()
        children.append(child)
    for child in children:
        assert child.stdout is not None
        line = await child.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"listener process failed to connect: {line!r}")
    return children


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
    trace_file = Path(data) / "tracemalloc.txt"
    env = load_env(SOAK_TRACE_FILE=str(trace_file))
    node = ["-c", TRACED_NODE] if args.trace else ["-m", "cryb_node"]
    proc = subprocess.Popen(
        [sys.executable, *node, "serve", "--port", str(port), "--data", data],
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
            listener_tokens = await work.prepare(args.clients, args.writers)
            channel = work.channel_id
            tokens = work.sender_tokens
            # The listeners stay on a little past the end, so every sample is taken with all connected.
            children = await start_listeners(base, listener_tokens, args.procs, args.seconds + 15)
            deadline = time.monotonic() + args.seconds
            started = time.monotonic()

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
                    # Chat is fanned out to every client: a message rate the listener processes
                    # can follow on the same machine; the rest are reads and reactions.
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
                traced = False
                while time.monotonic() < deadline:
                    t = time.monotonic() - started
                    samples.append((t, rss_mib(proc.pid), open_fds(proc.pid)))
                    if args.trace and not traced and t >= args.seconds / 2:
                        proc.send_signal(signal.SIGUSR1)  # the baseline for the second half
                        traced = True
                    await asyncio.sleep(2)
                if args.trace:
                    proc.send_signal(signal.SIGUSR1)  # the end of the second half, clients still on
                    await asyncio.sleep(5)

            await asyncio.gather(sampler(), *(writer(i) for i in range(args.writers)))
            for child in children:
                out, _ = await child.communicate()
                counts = json.loads(out.decode().strip().splitlines()[-1])
                received += counts["received"]
                dropped += counts["dropped"]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(120)

    # Growth over the last half: the middle against the end, each the median of 5 samples (10 s), so
    # one sample caught mid-collection does not decide it.
    half = [rss for t, rss, _ in samples if t >= args.seconds / 2]
    middle, end = statistics.median(half[:5]), statistics.median(half[-5:])
    growth = (end - middle) / middle * 100 if len(half) >= 10 else float("nan")
    print(
        f"\nSoak: {args.clients} WebSocket clients, {args.writers} HTTP writers, {args.seconds} s, "
        f"{os.cpu_count()} cores, clients in {args.procs} processes; node exit code {code}; "
        f"{received} dispatches received; "
        f"{dropped} sockets closed by the node before the end\n"
    )
    print("| t (s) | RSS (MiB) | open fds |")
    print("|---|---|---|")
    step = max(1, len(samples) // 15)
    for t, rss, fds in samples[::step] + samples[-1:]:
        print(f"| {t:.0f} | {rss:.1f} | {fds} |")
    print(
        f"\nRSS growth over the last half: {growth:+.1f}% (median of 5 samples at the middle and at the end;"
    )
    print("target < 10%)")
    print(f"fds: first {samples[0][2]}, last {samples[-1][2]}\n")
    print("| request | count | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name, vals in latencies.items():
        if not vals:
            continue
        vals.sort()
        p95, p99 = (vals[min(len(vals) - 1, int(p * len(vals)))] * 1000 for p in (0.95, 0.99))
        print(f"| {name} | {len(vals)} | {statistics.median(vals) * 1000:.1f} | {p95:.1f} | {p99:.1f} |")
    if args.trace and trace_file.exists():
        print("\nLargest allocation growth in the node over the second half (tracemalloc):\n")
        print(trace_file.read_text())
    return 0 if growth < 10 and code == 0 else 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--procs", type=int, default=4, help="listener processes the clients are spread over")
    ap.add_argument("--trace", action="store_true", help="run the node under tracemalloc")
    ap.add_argument("--listener", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.listener:
        print(json.dumps(asyncio.run(listener_process(json.load(sys.stdin)))))
        return
    sys.exit(asyncio.run(soak(args)))


if __name__ == "__main__":
    main()
