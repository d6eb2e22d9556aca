"""Idle memory (issue 24): the resident memory of a `cryb serve` and every process under it (search
committer, forkserver, Litestream when configured), on a fresh data dir once /readyz is green, and
again after a little use (a member signs up, creates a community, posts a message, reacts, uploads
a small image, searches). Beside it, in the same run: a bare aiohttp server and a bare Python.

Usage: python bench/idle.py [--runs 3] [--settle 3]
"""

from __future__ import annotations

import argparse
import asyncio
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
from bench.nodeenv import load_env  # noqa: E402

BARE = r"""
import sys
from aiohttp import web
async def ok(request):
    return web.json_response({"status": "ok"})
app = web.Application()
app.router.add_get("/healthz", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = task / "children"
        if children.exists():
            for child in children.read_text().split():
                out += tree(int(child))
    return out


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def name(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return "?"
    text = " ".join(c.decode(errors="replace") for c in cmd if c)
    for marker in ("forkserver", "resource_tracker", "committer", "litestream", "cryb_node"):
        if marker in text:
            return marker
    return text[:40]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, IndexError, ValueError):
        return 0


def measure(pid: int) -> dict[str, float]:
    by: dict[str, float] = {}
    procs = tree(pid)
    for p in procs:
        key = "node" if p == pid else name(p)
        if key == "forkserver" and _parent(p) != pid:
            key = "forkserver's child (search committer)"
        by[key] = by.get(key, 0) + rss_kib(p) / 1024
    by["total"] = sum(by.values())
    return by


async def use(base: str) -> None:
    """A little of everything a member does, so the code paths' imports and caches are loaded."""
    async with aiohttp.ClientSession() as http:
        body = {"username": "idle", "email": "idle@example.test", "password": "idle bench password"}
        async with http.post(base + "/api/v1/auth/register", json=body) as r:
            auth = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        async with http.post(base + "/api/v1/communities", json={"name": "Idlers"}, headers=auth) as r:
            com = await r.json()
        async with http.get(f"{base}/api/v1/communities/{com['id']}/channels", headers=auth) as r:
            channel = (await r.json())["channels"][0]["id"]
        import pyvips

        form = aiohttp.FormData()
        png = pyvips.Image.black(64, 48).new_from_image([200, 30, 60]).write_to_buffer(".png")
        form.add_field("file", png, filename="x.png")
        async with http.post(base + "/api/v1/media", data=form, headers=auth) as r:
            media = await r.json()
        msg = {"content": "**hello** idle world :)", "attachments": [media["id"]]}
        async with http.post(f"{base}/api/v1/channels/{channel}/messages", json=msg, headers=auth) as r:
            sent = await r.json()
        url = f"{base}/api/v1/messages/{sent['id']}/reactions/%F0%9F%91%8D"
        async with http.put(url, headers=auth) as r:
            await r.read()
        async with http.get(f"{base}/api/v1/channels/{channel}/messages?limit=50", headers=auth) as r:
            await r.read()
        async with http.get(f"{base}/api/v1/search?q=hello", headers=auth) as r:
            await r.read()


async def one_run(settle: float) -> tuple[dict[str, float], dict[str, float], float, float]:
    port = free_port()
    data = tempfile.mkdtemp(prefix="cryb-idle-")
    cmd = [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data]
    node = subprocess.Popen(cmd, env=load_env(), stderr=subprocess.DEVNULL)
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(bare_port)])
    python = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_up(base + "/readyz")
        await wait_up(f"http://127.0.0.1:{bare_port}/healthz")
        await asyncio.sleep(settle)
        idle = measure(node.pid)
        await use(base)
        await asyncio.sleep(settle)
        used = measure(node.pid)
        return idle, used, rss_kib(bare.pid) / 1024, rss_kib(python.pid) / 1024
    finally:
        for proc in (node, bare, python):
            proc.terminate()
            proc.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--settle", type=float, default=3.0, help="seconds to wait before each reading")
    args = ap.parse_args()
    runs = [asyncio.run(one_run(args.settle)) for _ in range(args.runs)]
    keys = sorted(
        {k for idle, used, _, _ in runs for k in (*idle, *used)} - {"total"}, key=lambda k: k != "node"
    )

    def med(i: int, key: str) -> float:
        return statistics.median(r[i].get(key, 0.0) for r in runs)

    bare = statistics.median(r[2] for r in runs)
    python = statistics.median(r[3] for r in runs)
    print(
        f"\nIdle RSS of `cryb serve` and its processes (MiB), median of {args.runs}, {time.strftime('%F')}\n"
    )
    print(f"| {'process':<38} | {'after /readyz':>13} | {'after a little use':>18} |")
    print(f"|{'-' * 40}|{'-' * 15}|{'-' * 20}|")
    for key in [*keys, "total"]:
        print(f"| {key:<38} | {med(0, key):>13.1f} | {med(1, key):>18.1f} |")
    print(f"| {'bare aiohttp server':<38} | {bare:>13.1f} | {'':>18} |")
    print(f"| {'bare Python':<38} | {python:>13.1f} | {'':>18} |")
    idle, used = med(0, "total") / bare, med(1, "total") / bare
    print(f"\nnode total / bare aiohttp: {idle:.2f} idle, {used:.2f} after use")


if __name__ == "__main__":
    main()
