"""`make bench`: figures, not pass/fail. Prints a table of medians over repeated runs, each with its
ratio to a reference measured in the same run.

Rows:
  - requests/s of /healthz through the full middleware stack, against a bare aiohttp handler
  - requests/s of a JSON API route (/api/v1/node), against the same bare handler
  - acknowledged event writes/s (POST a note: validate, sign, append, project, group commit),
    against the naive way: a bare aiohttp handler doing one aiosqlite INSERT + COMMIT per request
Load comes from wrk when it is installed (apt-get install wrk), else from an aiohttp client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    name: str
    unit: str
    value: float
    reference: str
    ref_value: float

    @property
    def ratio(self) -> float:
        return self.value / self.ref_value if self.ref_value else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc: subprocess.Popen) -> None:
    import urllib.request

    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(url)


async def load(url: str, seconds: float, concurrency: int, method: str = "GET", json_body=None) -> float:
    """Requests per second with ``concurrency`` keep-alive connections for ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker(w: int) -> None:
            nonlocal done
            i = 0
            while time.perf_counter() < deadline:
                body = None if json_body is None else {"text": f"bench {w} {i}"}
                async with session.request(method, url, json=body) as resp:
                    await resp.read()
                    if resp.status >= 400:
                        raise RuntimeError(f"{url}: {resp.status}")
                done += 1
                i += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return done / (time.perf_counter() - started)


# The reference server: bare aiohttp, no middleware, and the naive way to write with aiosqlite
# (one INSERT + COMMIT per request, WAL, synchronous=NORMAL).
BARE = """
import sys, aiosqlite
from aiohttp import web
async def ok(request):
    return web.json_response({"status": "ok"})
async def note(request):
    body = await request.json()
    db = request.app["db"]
    cur = await db.execute("INSERT INTO notes (text) VALUES (?)", (body["text"],))
    await db.commit()
    return web.json_response({"id": cur.lastrowid}, status=201)
async def ctx(app):
    app["db"] = await aiosqlite.connect(sys.argv[2])
    await app["db"].execute("PRAGMA journal_mode=WAL")
    await app["db"].execute("PRAGMA synchronous=NORMAL")
    await app["db"].execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)")
    yield
    await app["db"].close()
app = web.Application()
app.cleanup_ctx.append(ctx)
app.router.add_get("/healthz", ok)
app.router.add_post("/notes", note)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

WRK_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"text": "bench ' .. counter .. '"}')
end
"""


def wrk(url: str, seconds: float, concurrency: int, post: bool) -> float:
    """Requests/s measured by wrk (a separate C process, so the client is not the bottleneck)."""
    import re
    import shutil

    if shutil.which("wrk") is None:
        return asyncio.run(load(url, seconds, concurrency, "POST" if post else "GET", json_body=post or None))
    cmd = ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if post:
            script.write(WRK_POST)
            script.flush()
            cmd += ["-s", script.name]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url}: error responses during the run:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYB_")}
    env.update(
        PYTHONPATH=str(ROOT),
        CRYB_RATE_LIMITS__ENABLED="false",
        # every load client connects from 127.0.0.1: lift the per-address cap meant for the internet
        CRYB_SERVER__MAX_CONNECTIONS_PER_ADDRESS="1000000",
        CRYB_LOG__LEVEL="WARNING",
        CRYB_PLUGINS__EXTRA='["tests.demo_plugin:plugin"]',
    )
    data = tempfile.mkdtemp(prefix="cryb-bench-")
    port, bare_port = free_port(), free_port()
    node = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(bare_port), str(Path(data) / "bare.db")])
    base, bare_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}/healthz"
    try:
        wait_up(base + "/healthz", node)
        wait_up(bare_url, bare)
        samples: dict[str, list[float]] = {k: [] for k in ("bare", "healthz", "node", "write", "bare_write")}
        bare_notes = bare_url.replace("/healthz", "/notes")
        for _ in range(args.runs):
            s, c = args.seconds, args.concurrency
            samples["bare"].append(wrk(bare_url, s, c, post=False))
            samples["healthz"].append(wrk(base + "/healthz", s, c, post=False))
            samples["node"].append(wrk(base + "/api/v1/node", s, c, post=False))
            samples["write"].append(wrk(base + "/api/v1/demo/notes", s, c, post=True))
            samples["bare_write"].append(wrk(bare_notes, s, c, post=True))
    finally:
        for p in (node, bare):
            p.send_signal(signal.SIGTERM)
            p.wait(30)
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = [
        Row("GET /healthz", "req/s", med["healthz"], "bare aiohttp handler", med["bare"]),
        Row("GET /api/v1/node (JSON API)", "req/s", med["node"], "bare aiohttp handler", med["bare"]),
        Row(
            "POST note (signed event, group commit)",
            "writes/s",
            med["write"],
            "aiosqlite commit per request",
            med["bare_write"],
        ),
    ]
    print(
        f"\nCRYB node bench: median of {args.runs} runs, {args.seconds:.0f}s each, "
        f"{args.concurrency} connections, {os.cpu_count()} cores\n"
    )
    print(f"| {'measure':<40} | {'value':>16} | {'reference':<28} | {'ref value':>10} | {'ratio':>6} |")
    print(f"|{'-' * 42}|{'-' * 18}|{'-' * 30}|{'-' * 12}|{'-' * 8}|")
    for r in rows:
        value = f"{r.value:.0f} {r.unit}"
        print(f"| {r.name:<40} | {value:>16} | {r.reference:<28} | {r.ref_value:>10.0f} | {r.ratio:>6.2f} |")


if __name__ == "__main__":
    main()
