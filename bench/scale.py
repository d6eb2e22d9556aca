"""One process against `cryb serve --workers 2` (issue 25), on the same machine and workload:

  - connect storm: N identified sessions open /gateway at once: seconds until all are READY, and
    /healthz p99 during the storm (bench/connect.py's storm, unchanged);
  - fan-out: L listeners (members of one community) connected, S senders post M messages as fast as
    the node answers; deliveries/s (L x M / time until every listener has every message) and
    CPU-seconds the node's processes spent per 1,000 deliveries (utime + stime of the node, or of the
    supervisor's whole group: nats-server, primary and edges).

With --rounds R (default 3) the modes run interleaved, R times each (1, 2, 1, 2, ...: a change in
the machine's load hits both alike) and the table shows medians; each run also records the machine's
1-minute load average before and after it (on a shared machine, say so when quoting the figures).

Usage: python bench/scale.py [--sessions 10000] [--listeners 1000] [--messages 200] [--senders 8]
                             [--modes 1,2] [--rounds 3] [--procs 4] [--inflight 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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

from bench.connect import storm, token_file  # noqa: E402
from bench.fanout import free_port, wait_up  # noqa: E402
from bench.fanout_node import NodeWorkload  # noqa: E402
from bench.nodeenv import load_env  # noqa: E402

# One listener process: IDENTIFY its tokens, say "up", then count MESSAGE_CREATE frames per socket;
# print the time every socket had ``expect`` of them.
LISTENER = r"""
import asyncio, json, sys, time
import aiohttp

async def main(base, expect, tokens):
    counts = [0] * len(tokens)
    done = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = []
        async def beat(ws, interval):
            # connecting hundreds of sockets one by one on a loaded machine outlasts a heartbeat
            # interval: without beats the node rightly closes the first ones and the count hangs
            while True:
                await asyncio.sleep(interval * 0.5)
                await ws.send_json({"op": "HEARTBEAT", "d": None})
        async def read(i, ws):
            async for msg in ws:
                f = json.loads(msg.data)
                if f.get("t") == "MESSAGE_CREATE":
                    counts[i] += 1
                    if counts[i] == expect and all(c >= expect for c in counts):
                        done.set()
            if counts[i] < expect:
                sys.exit(f"listener socket closed ({ws.close_code}) after {counts[i]} of {expect}")
        readers = []
        for i, t in enumerate(tokens):
            ws = await http.ws_connect(base.replace("http", "ws") + "/gateway", max_msg_size=0)
            interval = (await ws.receive_json())["d"]["heartbeat_interval_ms"] / 1000
            await ws.send_json({"op": "IDENTIFY", "d": {"token": t}})
            while (await ws.receive_json()).get("op") != "READY":
                pass
            sockets.append(ws)
            # read from the start: frames sent while the others connect must not pile up unread
            readers += [asyncio.create_task(read(i, ws)), asyncio.create_task(beat(ws, interval))]
        print("up", flush=True)
        await done.wait()
        print(json.dumps(time.monotonic()), flush=True)
        for ws in sockets:
            await ws.close()
        for r in readers:
            r.cancel()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), json.loads(open(sys.argv[3]).read())))
"""


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            pass
    return out


def cpu_s(pid: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, IndexError):
            pass
    return total / tick


async def fanout(
    base: str, work: NodeWorkload, tokens: list[str], messages: int, senders: int, pid: int
) -> dict:
    procs = 2
    chunks = [tokens[i::procs] for i in range(procs)]
    clients = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", LISTENER, base, str(messages), token_file(chunk),
            stdout=asyncio.subprocess.PIPE,
        )
        for chunk in chunks
    ]  # fmt: skip
    for c in clients:
        assert c.stdout is not None and await c.stdout.readline() == b"up\n"
    path = f"/api/v1/channels/{work.channel_id}/messages"
    cpu0, start = cpu_s(pid), time.monotonic()

    async def send(i: int) -> None:
        for k in range(i, messages, senders):
            await work._call("POST", path, work.sender_tokens[i], {"content": f"m{k}"})

    await asyncio.gather(*(send(i) for i in range(senders)))
    ends = []
    for c in clients:
        assert c.stdout is not None
        ends.append(json.loads(await c.stdout.readline()))
    elapsed = max(ends) - start
    cpu = cpu_s(pid) - cpu0
    for c in clients:
        await c.wait()
    deliveries = len(tokens) * messages
    return {
        "deliveries_per_s": deliveries / elapsed,
        "cpu_s_per_1000": cpu / deliveries * 1000,
        "seconds": elapsed,
    }


async def measure(workers: int, args: argparse.Namespace) -> dict:
    port = free_port()
    data = tempfile.mkdtemp(prefix=f"cryb-scale-{workers}-")
    log = open(Path(data) / "node.log", "w")  # noqa: SIM115 - closed with the process
    cmd = [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", str(Path(data) / "d")]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    load_before = os.getloadavg()[0]
    proc = subprocess.Popen(cmd, env=load_env(), stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_up(base + "/healthz", timeout=120)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            work = NodeWorkload(http, base)
            tokens = await work.prepare(max(args.sessions, args.listeners), args.senders)
            stormed = await storm(base, tokens[: args.sessions], args.procs, args.inflight, proc.pid)
            fan = await fanout(base, work, tokens[: args.listeners], args.messages, args.senders, proc.pid)
        return {**stormed, **fan, "load_before": load_before, "load_after": os.getloadavg()[0]}
    except Exception:
        print((Path(data) / "node.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        log.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--listeners", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--modes", default="1,2", help="worker counts to compare")
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--inflight", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3, help="runs of each mode, interleaved; medians shown")
    args = ap.parse_args()
    modes = [int(m) for m in args.modes.split(",")]
    runs: dict[int, list[dict]] = {w: [] for w in modes}
    for r in range(args.rounds):
        for workers in modes:
            got = await measure(workers, args)
            runs[workers].append(got)
            figures = json.dumps({k: round(v, 3) for k, v in got.items()})
            print(f"round {r + 1} workers={workers}: {figures}", flush=True)
    results = {w: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for w, rs in runs.items()}
    print(
        f"\n{args.sessions} sessions in the storm; "
        f"fan-out {args.listeners} listeners x {args.messages} messages; medians of {args.rounds} run(s)"
    )
    print(f"{'figure':44} " + " ".join(f"{'workers=' + str(w):>12}" for w in results))
    for key, name in [
        ("deliveries_per_s", "fan-out deliveries/s"),
        ("all_ready_s", "seconds until all sessions READY"),
        ("health_p99_ms", "/healthz p99 during the storm (ms)"),
        ("cpu_s_per_1000", "CPU-s per 1,000 deliveries (all processes)"),
        ("rss_mib", "RSS with all sessions connected (MiB)"),
        ("load_before", "machine load average (1 min) before a run"),
    ]:
        print(f"{name:44} " + " ".join(f"{r[key]:12.3f}" for r in results.values()))
    loads = [x[k] for rs in runs.values() for x in rs for k in ("load_before", "load_after")]
    span = f"{min(loads):.1f} to {max(loads):.1f}"
    print(f"load average (1 min) over all runs: {span} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
