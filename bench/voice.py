"""Voice in sfu mode on this machine (make bench does not run it: it needs janus and Chromium):
participants per room and rooms per node, with the CPU and RSS of the node and of Janus while the
calls run. Each participant is a Chromium context with fake media devices driving the web UI (audio
only), so Chromium's own cost is on the same cores; the figures are for this machine and its load.

    .venv/bin/python -m bench.voice --room-sizes 2,4,6 --rooms 1,2,3 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
from aiohttp import web

from cryb_node.app import build_app
from tests.conftest import free_port, make_config
from tests.e2e.conftest import CHROMIUM, FLAGS
from tests.e2e.test_webui_voice import INBOUND, MEDIA_FLAGS
from tests.e2e.test_webui_voice_sfu import ADMIN_KEY, janus_config
from tests.users_fixtures import FAST_HASHING, PASSWORD

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def api(http: aiohttp.ClientSession, base: str, method: str, path: str, token: str | None = None,
              body: dict | None = None) -> dict:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, f"{base}/api/v1{path}", json=body, headers=headers) as resp:
        assert resp.status < 300, (path, resp.status, await resp.text())
        return await resp.json() if resp.status != 204 else {}


async def participant(browser, base: str, name: str, community: str, channel: str):
    context = await browser.new_context(permissions=["microphone"])
    page = await context.new_page()
    await page.goto(f"{base}/register")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Email").fill(f"{name}@example.test")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url("**/channels/@me")
    async with aiohttp.ClientSession() as http:
        token = (await api(http, base, "POST", "/auth/login", body={"login": name, "password": PASSWORD}))[
            "access_token"
        ]
        await api(http, base, "PUT", f"/communities/{community}/members/@me", token, {})
    await page.goto(f"{base}/channels/{community}/{channel}")
    await page.get_by_role("button", name="Join voice").click()
    await page.get_by_role("button", name="Leave", exact=True).wait_for(timeout=20000)
    return context, page


async def heard_all(pages: list, others: int, timeout: float = 40.0) -> float:
    """Seconds until every page receives audio bytes from ``others`` peers."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        counts = [sum(1 for b in (await p.evaluate(INBOUND)).values() if b > 0) for p in pages]
        if all(c >= others for c in counts):
            return time.monotonic() - start
        await asyncio.sleep(0.5)
    problems = [await p.locator(".voice-problem").text_content() for p in pages]
    raise RuntimeError(f"not every participant hears every other: {counts}; pages said {problems}")


async def scenario(browser, base: str, owner: str, community: str, rooms: int, size: int, seconds: float,
                   janus_pid: int, tag: str) -> dict:  # fmt: skip
    contexts, pages_by_room = [], []
    async with aiohttp.ClientSession() as http:
        channels = [
            (
                await api(
                    http,
                    base,
                    "POST",
                    f"/communities/{community}/channels",
                    owner,
                    {"name": f"{tag}-{r}", "kind": "voice"},
                )
            )["id"]
            for r in range(rooms)
        ]
    for r, channel in enumerate(channels):
        pages = []
        for i in range(size):
            context, page = await participant(browser, base, f"{tag}r{r}p{i}", community, channel)
            contexts.append(context)
            pages.append(page)
        pages_by_room.append(pages)
    connect_s = max([await heard_all(pages, size - 1) for pages in pages_by_room])
    me = os.getpid()
    node0, janus0, t0 = cpu_s(me), cpu_s(janus_pid), time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - t0
    out = {
        "rooms": rooms, "participants": size, "connected_s": round(connect_s, 1),
        "node_cpu_pct": round(100 * (cpu_s(me) - node0) / wall, 1), "node_rss_mb": round(rss_mb(me)),
        "janus_cpu_pct": round(100 * (cpu_s(janus_pid) - janus0) / wall, 1),
        "janus_rss_mb": round(rss_mb(janus_pid)),
    }  # fmt: skip
    for context in contexts:
        await context.close()
    await asyncio.sleep(2)  # the node evicts them from Janus
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--room-sizes", default="2,4,6", help="participants in one room, per run")
    ap.add_argument("--rooms", default="1,2,3", help="rooms of two participants each, per run")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long each run is measured")
    args = ap.parse_args()
    if shutil.which("janus") is None:
        raise SystemExit("janus is not installed (apt install janus)")
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        jport = free_port()
        conf = janus_config(root / "janus", jport, 43000)
        janus = subprocess.Popen(["janus", "-F", str(conf), "-C", str(conf / "janus.jcfg")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        jurl = f"http://127.0.0.1:{jport}/janus"
        for _ in range(100):
            try:
                urllib.request.urlopen(jurl + "/info", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        voice = {"mode": "sfu", "janus_url": jurl, "janus_admin_key": ADMIN_KEY, "max_participants": 25}
        cfg = make_config(root / "data", plugin={"users": FAST_HASHING, "voice": voice},
                          rate_limits={"enabled": False}, log={"level": "ERROR"})  # fmt: skip
        runner = web.AppRunner(build_app(cfg))
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as http:
                owner_in = {"username": "benchowner", "email": "o@example.test", "password": PASSWORD}
                reg = await api(http, base, "POST", "/auth/register", body=owner_in)
                owner = reg["access_token"]
                community = (
                    await api(http, base, "POST", "/communities", owner, {"name": "bench", "public": True})
                )["id"]
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=FLAGS + MEDIA_FLAGS
                )
                runs = [(1, int(n)) for n in args.room_sizes.split(",")] + [
                    (int(r), 2) for r in args.rooms.split(",")
                ]
                print(f"{'rooms':>5} {'people':>6} {'connect s':>9} {'node cpu%':>9} {'node MB':>7}"
                      f" {'janus cpu%':>10} {'janus MB':>8}")  # fmt: skip
                for i, (rooms, size) in enumerate(runs):
                    r = await scenario(
                        browser, base, owner, community, rooms, size, args.seconds, janus.pid, f"b{i}"
                    )
                    print(
                        f"{r['rooms']:>5} {r['participants']:>6} {r['connected_s']:>9} {r['node_cpu_pct']:>9}"
                        f" {r['node_rss_mb']:>7} {r['janus_cpu_pct']:>10} {r['janus_rss_mb']:>8}",
                        flush=True,
                    )
                await browser.close()
        finally:
            await runner.cleanup()
            janus.terminate()
            janus.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
