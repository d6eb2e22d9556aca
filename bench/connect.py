"""Connect storm (issue 24): N identified sessions open /gateway at once against one node. Reports,
medians over --runs storms against the same node and users:

  - seconds until every session has its READY, and until the first 1,000 have theirs (the reference
    measured in the same storm: what a small community's whole storm costs);
  - /healthz latency (p50, p99) polled every 20 ms during the storm, against the same poll on the
    idle node just before it;
  - the node's RSS with every session connected (node and its helper processes), beside its RSS
    just started.

Each storm meets the node just restarted on the same data and users, as after an upgrade: every
client reconnects at once.

Clients run in --procs processes (one process cannot parse thousands of sockets' frames, and the node
rightly cuts off clients that stop reading); each keeps --inflight handshakes open at once.

Usage: python bench/connect.py [--sessions 10000] [--runs 3] [--procs 4] [--inflight 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from bench.nodeenv import load_env  # noqa: E402

# One client process: IDENTIFY every token it is given, print each READY's monotonic time, keep
# reading until stdin closes, then close its sockets.
CLIENT = r"""
import asyncio, json, sys, time
import aiohttp

async def main(base, inflight, tokens):
    gate = asyncio.Semaphore(inflight)
    ready = []
    sockets = []
    async def one(http, token):
        async with gate:
            ws = await http.ws_connect(base.replace("http", "ws") + "/gateway", max_msg_size=0)
            await ws.send_json({"op": "IDENTIFY", "d": {"token": token}})
            while True:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"socket closed before READY: {msg} {ws.close_code}")
                frame = json.loads(msg.data)
                if frame.get("op") == "HELLO":
                    interval = frame["d"]["heartbeat_interval_ms"] / 1000
                elif frame.get("op") == "READY":
                    ready.append(time.monotonic())
                    break
        sockets.append(ws)

        async def beat():
            while True:
                await asyncio.sleep(interval * 0.8)
                await ws.send_json({"op": "HEARTBEAT", "d": None})

        beating = asyncio.create_task(beat())
        async for _ in ws:  # keep reading: presence and other dispatches
            pass
        beating.cancel()
    loop = asyncio.get_running_loop()
    print("up", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "go": every client process is up
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        tasks = [asyncio.create_task(one(http, t)) for t in tokens]
        while len(ready) < len(tokens):
            failed = [t for t in tasks if t.done() and t.exception()]
            if failed:
                raise failed[0].exception()
            await asyncio.sleep(0.05)
        print(json.dumps(ready), flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # the parent closes stdin: disconnect
        for ws in sockets:
            await ws.close()
        for t in tasks:
            t.cancel()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), json.loads(open(sys.argv[3]).read())))
"""


def token_file(tokens: list[str]) -> str:
    """A file holding the tokens, for a client process: thousands of them overflow one argument
    (Linux caps each at 128 KiB)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(tokens, f)
    return f.name


def rss_mib(pid: int) -> float:
    """RSS of a process and its children (the search committer, the forkserver), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


async def poll_health(http: aiohttp.ClientSession, base: str, stop: asyncio.Event) -> list[float]:
    """/healthz latency in ms, every 20 ms until ``stop``."""
    out: list[float] = []
    while not stop.is_set():
        t0 = time.monotonic()
        async with http.get(base + "/healthz") as r:
            await r.read()
        out.append((time.monotonic() - t0) * 1000)
        await asyncio.sleep(0.02)
    return out


async def storm(base: str, tokens: list[str], procs: int, inflight: int, node_pid: int) -> dict[str, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as http:
        idle_stop = asyncio.Event()
        idle = asyncio.create_task(poll_health(http, base, idle_stop))
        await asyncio.sleep(2)
        idle_stop.set()
        idle_ms = await idle

        chunks = [tokens[i::procs] for i in range(procs)]
        clients = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                CLIENT,
                base,
                str(max(1, inflight // procs)),
                token_file(chunk),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for chunk in chunks
        ]
        for c in clients:
            assert c.stdout is not None and c.stdin is not None
            assert await c.stdout.readline() == b"up\n"
        stop = asyncio.Event()
        during = asyncio.create_task(poll_health(http, base, stop))
        start = time.monotonic()
        for c in clients:
            assert c.stdin is not None
            c.stdin.write(b"go\n")
            await c.stdin.drain()
        ready: list[float] = []
        for c in clients:
            assert c.stdout is not None
            line = await c.stdout.readline()
            if not line:
                raise RuntimeError("a client process failed before all its sessions were READY")
            ready += json.loads(line)
        stop.set()
        during_ms = await during
        ready.sort()
        rss = rss_mib(node_pid)
        for c in clients:
            assert c.stdin is not None
            c.stdin.close()
        for c in clients:
            await c.wait()
        await asyncio.sleep(2)  # the node notices the closed sockets
        return {
            "all_ready_s": ready[-1] - start,
            "first_1000_ready_s": ready[min(999, len(ready) - 1)] - start,
            "health_p50_ms": pct(during_ms, 0.5),
            "health_p99_ms": pct(during_ms, 0.99),
            "idle_health_p50_ms": pct(idle_ms, 0.5),
            "idle_health_p99_ms": pct(idle_ms, 0.99),
            "rss_mib": rss,
        }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--inflight", type=int, default=500)
    args = ap.parse_args()

    port = free_port()
    data = tempfile.mkdtemp(prefix="cryb-connect-")
    env = load_env()
    log = open(Path(data) / "node.log", "w")  # noqa: SIM115 - closed with the process
    base = f"http://127.0.0.1:{port}"

    async def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data],
            env=env,
            stderr=log,
        )
        await wait_up(base + "/readyz")
        return proc

    def stop(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)

    # Each storm meets a node just started on the same data: everyone reconnecting after a restart.
    # (On one node, a second storm also met the first storm's 10,000 sessions, resumable for
    # resume_window_s, and its RSS counted both.)
    proc = await start()
    runs = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            t0 = time.monotonic()
            tokens = await NodeWorkload(http, base).prepare(args.sessions, 0)
            print(
                f"{args.sessions} members of one community ready in {time.monotonic() - t0:.0f} s", flush=True
            )
        for _ in range(args.runs):
            stop(proc)
            proc = await start()
            idle_rss = rss_mib(proc.pid)
            figures = await storm(base, tokens, args.procs, args.inflight, proc.pid)
            runs.append({**figures, "idle_rss": idle_rss})
    except Exception:
        print((Path(data) / "node.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(proc)
        log.close()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"\nconnect storm, {args.sessions} identified sessions, median of {len(runs)}")
    print(f"{'figure':42} {'value':>9}  {'reference':38} {'ref':>9}")
    rows = [
        (
            "seconds until all sessions READY",
            med("all_ready_s"),
            "until the first 1,000 READY (s)",
            med("first_1000_ready_s"),
        ),
        (
            "/healthz p50 during the storm (ms)",
            med("health_p50_ms"),
            "/healthz p50 idle (ms)",
            med("idle_health_p50_ms"),
        ),
        (
            "/healthz p99 during the storm (ms)",
            med("health_p99_ms"),
            "/healthz p99 idle (ms)",
            med("idle_health_p99_ms"),
        ),
        (
            "node RSS, all sessions connected (MiB)",
            med("rss_mib"),
            "node RSS just started (MiB)",
            med("idle_rss"),
        ),
    ]
    for name, value, ref_name, ref in rows:
        print(f"{name:42} {value:9.1f}  {ref_name:38} {ref:9.1f}")


if __name__ == "__main__":
    asyncio.run(main())
