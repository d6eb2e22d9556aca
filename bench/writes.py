"""`make bench` (writes): durable message sends over real HTTP against a `cryb serve` process.

Each send is a member's POST /api/v1/channels/{id}/messages with their own bearer token: token
check, permission check, validation, a signed event, its projection, and the group commit that holds
it; the answer comes only after that commit. Senders keep one request in flight each.

Rows: sends/s with p50 and p99 latency at 1, 16 and 64 senders into 1 and into 16 channels, medians
of --runs runs, beside references measured in the same runs:
  - GET /healthz req/s through the node's full middleware stack, same client, 64 connections;
  - SQLite batched insert rows/s on the same disk (message-like rows, WAL, synchronous=NORMAL,
    1,000 rows per transaction): what the storage alone could take.

Usage: python bench/writes.py [--runs 3] [--seconds 3] [--pyspy FILE]

--pyspy FILE records the node with py-spy during the first run of the last workload (64 senders into
16 channels, or the last of --only 64x1 ...)
(speedscope JSON, or collapsed stacks when FILE ends in .txt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import httpload  # noqa: E402
from bench.nodeenv import load_env  # noqa: E402
from bench.run import free_port, wait_up  # noqa: E402

SENDERS = (1, 16, 64)
CHANNELS = (1, 16)
WORKLOADS = [(s, c) for s in SENDERS for c in CHANNELS]


async def setup(base: str, senders: int, channels: int) -> tuple[list[str], list[str]]:
    """``senders`` members of one community with ``channels`` text channels: their tokens, the ids."""
    run = secrets.token_hex(3)
    async with aiohttp.ClientSession() as http:

        async def call(method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, base + path, json=body, headers=headers) as r:
                got = await r.json() if r.content_type.endswith("json") else {}
                if r.status >= 300:
                    raise RuntimeError(f"{method} {path}: {r.status} {got}")
                return got

        async def register(i: int) -> str:
            name = f"w{run}{i}"
            body = {"username": name, "email": f"{name}@bench.test", "password": "bench password 123"}
            return (await call("POST", "/api/v1/auth/register", body=body))["access_token"]

        tokens = [await register(0)]
        tokens += await asyncio.gather(*(register(i) for i in range(1, senders)))
        owner = tokens[0]
        com = (await call("POST", "/api/v1/communities", owner, {"name": f"writes {run}", "public": True}))[
            "id"
        ]
        ids = [
            (await call("POST", f"/api/v1/communities/{com}/channels", owner, {"name": f"c{i}"}))["id"]
            for i in range(channels)
        ]
        await asyncio.gather(
            *(call("PUT", f"/api/v1/communities/{com}/members/@me", t, {}) for t in tokens[1:])
        )
        return tokens, ids


def sends(base: str, tokens: list[str], channels: list[str], run: str) -> httpload.Maker:
    """Sender w's i-th request: a message into channel (w + i) mod len(channels)."""
    heads = [f"Bearer {t}" for t in tokens]

    def make(w: int, i: int) -> bytes:
        body = json.dumps({"content": f"bench {run} {w} {i}"}).encode()
        path = f"{base}/api/v1/channels/{channels[(w + i) % len(channels)]}/messages"
        return httpload.encode("POST", path, {"Authorization": heads[w]}, body)

    return make


def sqlite_batched(directory: str, seconds: float = 1.0, batch: int = 1000) -> float:
    """Rows/s of message-like rows inserted in transactions of ``batch`` (the storage's ceiling)."""
    path = Path(directory) / "reference.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS m (id TEXT PRIMARY KEY, channel_id TEXT, author_id TEXT, content TEXT,"
        " hlc INTEGER)"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS m_channel ON m (channel_id, hlc)")
    # Ids grow with time, as the node's do (clock.new_id); only the inserts and commits are timed.
    rows, spent = 0, 0.0
    while spent < seconds:
        chunk = [
            (f"{rows + n:016x}", f"c{n % 16}", f"u{n % 64}", f"bench message {rows + n}", rows + n)
            for n in range(batch)
        ]
        began = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO m VALUES (?, ?, ?, ?, ?)", chunk)
        conn.execute("COMMIT")
        spent += time.perf_counter() - began
        rows += batch
    rate = rows / spent
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return rate


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) so far of the node process, and of its helper processes."""
    tick = os.sysconf("SC_CLK_TCK")
    times = [0.0, 0.0]
    todo = [(pid, 0)]
    while todo:
        p, helper = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            times[helper] += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [(int(c), 1) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return times[0], times[1]


def profile(pid: int, out: str, seconds: float, gil: bool) -> subprocess.Popen | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists() and shutil.which(spy) is None:
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    fmt = "raw" if out.endswith(".txt") else "speedscope"
    cmd = [spy, "record", "-f", fmt, "-o", out, "--pid", str(pid), "--duration", str(int(seconds) + 1)]
    return subprocess.Popen([*cmd, "--gil"] if gil else cmd, stdout=subprocess.DEVNULL)


async def measure(
    base: str,
    pid: int,
    data: str,
    runs: int,
    seconds: float,
    spy_out: str | None,
    gil: bool,
    only: list[tuple[int, int]],
) -> dict:
    tokens, channels = await setup(base, max(SENDERS), max(CHANNELS))
    tag = secrets.token_hex(2)
    samples: dict[str, list] = {"healthz": [], "sqlite": []}
    healthz = httpload.encode("GET", f"{base}/healthz")
    for r in range(runs):
        for s, c in only:
            spy = profile(pid, spy_out, seconds, gil) if spy_out and r == 0 and (s, c) == only[-1] else None
            node0, helpers0 = cpu_seconds(pid)
            got = await httpload.run(base, s, seconds, sends(base, tokens, channels[:c], f"{tag}{r}"))
            node1, helpers1 = cpu_seconds(pid)
            got.cpu_ms = 1000 * (node1 - node0) / max(1, got.answered)
            got.helper_cpu_ms = 1000 * (helpers1 - helpers0) / max(1, got.answered)
            if spy is not None:
                spy.wait()
            samples.setdefault((s, c), []).append(got)
        samples["healthz"].append((await httpload.run(base, 64, seconds, lambda w, i: healthz)).rate)
        samples["sqlite"].append(sqlite_batched(data))
    return samples


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument(
        "--pyspy", metavar="FILE", help="py-spy profile of the node during the last workload's first run"
    )
    ap.add_argument("--gil", action="store_true", help="profile only the samples that hold the GIL")
    ap.add_argument(
        "--only", metavar="SxC", nargs="*", help="only these workloads, e.g. 64x1 (senders x channels)"
    )
    args = ap.parse_args()
    only = [tuple(map(int, w.split("x"))) for w in args.only] if args.only else WORKLOADS

    data = tempfile.mkdtemp(prefix="cryb-bench-writes-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(data) / "node.log", "w")  # noqa: SIM115 - closed with the process
    node = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data],
        env=load_env(),
        stderr=log,
    )
    try:
        wait_up(base + "/healthz", node)
        samples = asyncio.run(
            measure(base, node.pid, data, args.runs, args.seconds, args.pyspy, args.gil, only)
        )
    except Exception:
        print((Path(data) / "node.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(60)
        log.close()
        shutil.rmtree(data, ignore_errors=True)
    healthz = statistics.median(samples["healthz"])
    sqlite_rate = statistics.median(samples["sqlite"])
    print(
        f"\nCRYB writes bench: durable message sends over HTTP, median of {args.runs} runs,"
        f" {args.seconds:.0f}s each, {os.cpu_count()} cores\n"
    )
    print(
        f"| {'workload':<30} | {'sends/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'/ healthz':>9}"
        f" | {'CPU ms/send: node + helpers':>27} |"
    )
    print(f"|{'-' * 32}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 29}|")
    for s, c in only:
        got: list[httpload.Result] = samples[(s, c)]
        rate = statistics.median(g.rate for g in got)
        p50 = statistics.median(g.p50 for g in got)
        p99 = statistics.median(g.p99 for g in got)
        cpu = statistics.median(g.cpu_ms for g in got)
        helpers = statistics.median(g.helper_cpu_ms for g in got)
        name = f"{s} sender{'s' * (s > 1)}, {c} channel{'s' * (c > 1)}"
        print(
            f"| {name:<30} | {rate:>8.0f} | {p50:>7.1f} | {p99:>7.1f} | {rate / healthz:>9.2f}"
            f" | {f'{cpu:.2f} + {helpers:.2f}':>27} |"
        )
    print(f"\nreferences in the same runs: GET /healthz {healthz:,.0f} req/s (64 connections);")
    print(f"SQLite batched insert {sqlite_rate:,.0f} rows/s (1,000 rows per transaction, same disk)")


if __name__ == "__main__":
    main()
