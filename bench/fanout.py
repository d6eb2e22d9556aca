"""The chat fan-out workload (issue 6): L listeners on a realtime connection, S senders posting over
HTTP, M messages each (every send awaits its acknowledgement). Reports deliveries/s and send->receive
latency per delivery, for:

  - CRYB node: messages in a text channel (validated, permission-checked, signed, stored, group-committed),
    delivered over /gateway to members who may see them;
  - the ceiling: a bare aiohttp broadcast server (no auth, no persistence, no permissions);
  - Matrix Synapse on the same workload, via ../shared/peers/synapse/run.sh (when reachable).

Usage: python bench/fanout.py [--runs N] [--workloads 100x4x25,1000x4x10] [--no-synapse]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SYNAPSE = ROOT.parent / "shared" / "peers" / "synapse" / "run.sh"


@dataclass
class Result:
    system: str
    listeners: int
    senders: int
    messages: int
    deliveries: int
    expected: int
    deliveries_per_s: float
    p50_ms: float
    p99_ms: float


def summarise(
    system: str, lat: list[float], got: int, expected: int, elapsed: float, L: int, S: int, M: int
) -> Result:
    lat.sort()

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return Result(system, L, S, S * M, got, expected, got / elapsed if elapsed else 0.0, q(0.5), q(0.99))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(url)


# -- the ceiling: a bare broadcast server ---------------------------------------------------------

# A MESSAGE_CREATE dispatch of the node is about 600 bytes of JSON; the ceiling's frames are padded
# to the same size.
PAD = "x" * 480

CEILING = """
import sys
from aiohttp import web, WSMsgType
sockets = set()
async def ws(request):
    w = web.WebSocketResponse()
    await w.prepare(request)
    sockets.add(w)
    try:
        async for _ in w:
            pass
    finally:
        sockets.discard(w)
    return w
async def send(request):
    body = await request.read()
    for w in list(sockets):
        await w.send_frame(body, WSMsgType.TEXT)
    return web.json_response({"ok": True})
async def health(request):
    return web.json_response({"ok": True})
app = web.Application()
app.router.add_get("/ws", ws)
app.router.add_post("/send", send)
app.router.add_get("/healthz", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


async def run_ceiling(L: int, S: int, M: int) -> Result:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", CEILING, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_up(base + "/healthz")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            sockets = [await http.ws_connect(base + "/ws") for _ in range(L)]

            async def post(i: int, k: int, body: str) -> None:
                # The same bytes per delivery as the node's MESSAGE_CREATE dispatch, so both sides
                # pay the same to move and parse a frame.
                frame = {"op": "DISPATCH", "t": "MESSAGE_CREATE", "d": {"content": body, "pad": PAD}, "s": k}
                async with http.post(base + "/send", data=json.dumps(frame)) as r:
                    assert r.status == 200

            return await drive("ceiling", sockets, post, L, S, M, lambda frame: frame["d"]["content"])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


# -- CRYB node ----------------------------------------------------------------------------------


async def run_node(L: int, S: int, M: int) -> Result:
    from bench.fanout_node import NodeWorkload  # the routes it uses live with the plugins
    from bench.nodeenv import load_env

    port = free_port()
    data = tempfile.mkdtemp(prefix="cryb-fanout-")
    env = load_env()
    log = open(Path(data) / "node.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data],
        env=env,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_up(base + "/healthz")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            work = NodeWorkload(http, base)
            sockets, post = await work.setup(L, S)
            return await drive("CRYB node", sockets, post, L, S, M, work.body_of)
    except Exception:
        print((Path(data) / "node.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        log.close()


# -- the shared driver --------------------------------------------------------------------------


async def drive(system, sockets, post, L: int, S: int, M: int, body_of) -> Result:
    sent_at: dict[str, float] = {}
    lat: list[float] = []
    got = 0
    total = S * M * L
    done = asyncio.Event()
    run = secrets.token_hex(3)

    async def listen(ws) -> None:
        nonlocal got
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            now = time.perf_counter()
            body = body_of(json.loads(msg.data))
            if body in sent_at:
                lat.append(now - sent_at[body])
                got += 1
                if got >= total:
                    done.set()

    tasks = [asyncio.create_task(listen(ws)) for ws in sockets]
    await asyncio.sleep(0.5)

    async def sender(i: int) -> None:
        for k in range(M):
            body = f"bench {run} {i} {k}"
            sent_at[body] = time.perf_counter()
            await post(i, k, body)

    t0 = time.perf_counter()
    await asyncio.gather(*(sender(i) for i in range(S)))
    try:
        await asyncio.wait_for(done.wait(), 120)
    except TimeoutError:
        pass
    elapsed = time.perf_counter() - t0
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ws in sockets:
        await ws.close()
    return summarise(system, lat, got, total, elapsed, L, S, M)


def run_synapse(L: int, S: int, M: int) -> Result | None:
    if not SYNAPSE.exists():
        return None
    try:
        out = subprocess.run(
            ["bash", str(SYNAPSE), sys.executable, str(L), str(S), str(M)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except subprocess.TimeoutExpired:
        return None
    line = next((ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{")), None)
    if out.returncode != 0 or line is None:
        print(f"synapse peer failed: {out.stderr[-500:]}", file=sys.stderr)
        return None
    d = json.loads(line)
    return Result(
        "Matrix Synapse",
        L,
        S,
        S * M,
        d["deliveries"],
        d["expected"],
        d["deliveries_per_s"],
        d["latency_ms_p50"],
        d["latency_ms_p99"],
    )


def median_result(results: list[Result]) -> Result:
    first = results[0]
    return Result(
        first.system,
        first.listeners,
        first.senders,
        first.messages,
        int(statistics.median(r.deliveries for r in results)),
        first.expected,
        statistics.median(r.deliveries_per_s for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workloads", default="100x4x25,1000x4x10", help="LxSxM,...")
    ap.add_argument("--no-synapse", action="store_true")
    args = ap.parse_args()
    rows: list[tuple[Result, Result]] = []
    for spec in args.workloads.split(","):
        L, S, M = (int(x) for x in spec.split("x"))
        ceiling = median_result([asyncio.run(run_ceiling(L, S, M)) for _ in range(args.runs)])
        ours = median_result([asyncio.run(run_node(L, S, M)) for _ in range(args.runs)])
        rows += [(ours, ceiling), (ceiling, ceiling)]
        if not args.no_synapse:
            syn = run_synapse(L, S, M)
            if syn is not None:
                rows.append((syn, ceiling))
    print(f"\nChat fan-out: median of {args.runs} runs (Synapse: 1 run), {os.cpu_count()} cores\n")
    print("| system | L | S | msgs | delivered | deliveries/s | vs ceiling | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r, ceil in rows:
        print(
            f"| {r.system} | {r.listeners} | {r.senders} | {r.messages} | {r.deliveries}/{r.expected} | "
            f"{r.deliveries_per_s:,.0f} | {r.deliveries_per_s / ceil.deliveries_per_s:.2f} | "
            f"{r.p50_ms:.1f} | {r.p99_ms:.1f} |"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
