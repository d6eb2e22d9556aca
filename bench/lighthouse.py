"""`make lighthouse`: Lighthouse 12 (tools/lighthouse, pinned 12.2.3) on the chat page and a forum post
page of a node with demo data, signed in, desktop preset, with Debian's Chromium; prints the scores.

The node runs as `cryb serve` on loopback. Signing in is the node's own web session: a sign-in in web
mode sets the HttpOnly refresh cookie, and Lighthouse sends it with --extra-headers, so the page boots
signed in exactly as in a browser that signed in before. A refresh token is single-use (a reuse
revokes the session), so each Lighthouse run gets a session of its own.

    make lighthouse                 # needs npm (installs tools/lighthouse with npm ci)
    .venv/bin/python bench/lighthouse.py --runs 5 --json   # the median of 5 runs, as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, free_port, wait_up

LIGHTHOUSE = ROOT / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
PASSWORD = "lighthouse demo password"
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGETS = {"performance": 90, "accessibility": 95, "best-practices": 95}


async def demo(base: str) -> dict[str, str]:
    """A member, a community with some chat history, and a forum post with comments: the pages to
    audit, as URLs."""
    async with aiohttp.ClientSession(base) as http:

        async def call(method: str, path: str, token: str | None = None, **body: object) -> dict:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with http.request(method, path, json=body or None, headers=headers) as resp:
                if resp.status >= 400:
                    raise RuntimeError(f"{method} {path}: {resp.status} {await resp.text()}")
                return await resp.json() if resp.status != 204 else {}

        me = await call(
            "POST", "/api/v1/auth/register", username="ada", email="ada@example.test", password=PASSWORD
        )
        token = me["access_token"]
        community = await call("POST", "/api/v1/communities", token, name="Lighthouse Keepers")
        cid = community["id"]
        channels = (await call("GET", f"/api/v1/communities/{cid}/channels", token))["channels"]
        general = next(c for c in channels if c["kind"] == "text")
        for i, text in enumerate(
            [
                "Welcome to the **keepers** channel!",
                "The lamp on the north tower needs a new wick.",
                "I can do it tomorrow at dawn.",
                "Remember the fog signal test on Friday.",
                "Here is the rota: https://example.test/rota",
            ]
            * 6
        ):
            await call(
                "POST", f"/api/v1/channels/{general['id']}/messages", token, content=f"{text} ({i + 1})"
            )
        forum = await call("POST", f"/api/v1/communities/{cid}/channels", token, name="logbook", kind="forum")
        post = await call(
            "POST",
            f"/api/v1/channels/{forum['id']}/posts",
            token,
            title="Storm of the century: what we learned",
            body="The keepers kept the light burning for **three nights**.\n\n- fuel\n- wicks\n- coffee",
            tags=["storms"],
        )
        for text in ("Great write-up.", "We should log the fuel use too.", "Agreed, adding it to the rota."):
            await call("POST", f"/api/v1/posts/{post['id']}/comments", token, body=text)
        return {
            "chat": f"{base}/channels/{cid}/{general['id']}",
            "forum post": f"{base}/channels/{cid}/{forum['id']}/{post['id']}",
        }


async def warm_up(base: str, url: str) -> None:
    """Fetch the page and its files once over HTTP, so the runs measure a node that has served a
    visitor before (compression done, SQLite pages cached); the browser's cache is still empty in
    every Lighthouse run."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            page = await resp.text()
        for path in re.findall(r'(?:href|src)="(/assets/[^"]+)"', page):
            async with http.get(base + path, headers={"Accept-Encoding": "gzip, br"}) as resp:
                await resp.read()


async def session_cookie(base: str) -> str:
    """A fresh web-mode sign-in: its refresh cookie, as a Cookie header value."""
    async with (
        aiohttp.ClientSession(base) as http,
        http.post(
            "/api/v1/auth/login",
            json={"login": "ada", "password": PASSWORD},
            headers={"X-Cryb-Client": "web"},
        ) as resp,
    ):
        if resp.status != 200:
            raise RuntimeError(f"sign-in: {resp.status} {await resp.text()}")
        cookie = resp.cookies["cryb_refresh"]
    return f"cryb_refresh={cookie.value}"


def lighthouse(url: str, cookie: str, out: Path) -> dict[str, int]:
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--preset=desktop",
            "--only-categories=" + ",".join(CATEGORIES),
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
            "--extra-headers=" + json.dumps({"Cookie": cookie}),
            "--output=json",
            f"--output-path={out}",
            "--quiet",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": CHROME},
    )
    report = json.loads(out.read_text())
    return {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}


def failing_audits(path: Path) -> list[str]:
    """The audits that cost points (score below 1, weighted in a category), for fixing."""
    report = json.loads(path.read_text())
    weighted = {a["id"] for c in report["categories"].values() for a in c["auditRefs"] if a["weight"] > 0}
    return [
        f"{a['id']}: {a['title']} ({a['score']})"
        for a in report["audits"].values()
        if a["id"] in weighted and a["score"] is not None and a["score"] < 1
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--keep", type=Path, help="keep the Lighthouse JSON reports in this directory")
    parser.add_argument("--runs", type=int, default=3, help="runs per page; the median score is shown")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit(
            "Lighthouse is not installed: run `npm ci --prefix tools/lighthouse` (or `make lighthouse`)."
        )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYB_")}
    env.update(PYTHONPATH=str(ROOT), CRYB_RATE_LIMITS__ENABLED="false", CRYB_LOG__LEVEL="WARNING")
    data = Path(tempfile.mkdtemp(prefix="cryb-lighthouse-"))
    reports = args.keep or data / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    node = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", str(data / "node")],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_up(f"{base}/readyz", node)
        pages = await demo(base)
        for url in pages.values():
            await warm_up(base, url)
        scores = {}
        for name, url in pages.items():
            runs = []
            for run in range(args.runs):
                out = reports / f"{name.replace(' ', '-')}-{run + 1}.json"
                runs.append(lighthouse(url, await session_cookie(base), out))
                for line in failing_audits(out):
                    print(f"  {name} (run {run + 1}): {line}", file=sys.stderr)
            # Lighthouse's own advice for noisy machines: the median of several runs.
            scores[name] = {c: int(statistics.median(r[c] for r in runs)) for c in CATEGORIES}
    finally:
        node.terminate()
        node.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)

    if args.json:
        print(json.dumps(scores, indent=2))
        return
    print("| Page | Performance | Accessibility | Best practices |")
    print("|---|---|---|---|")
    for name, s in scores.items():
        print(f"| {name} | {s['performance']} | {s['accessibility']} | {s['best-practices']} |")
    missed = [
        f"{n} {c} {s[c]} < {TARGETS[c]}" for n, s in scores.items() for c in CATEGORIES if s[c] < TARGETS[c]
    ]
    if missed:
        sys.exit("below target: " + "; ".join(missed))


if __name__ == "__main__":
    asyncio.run(main())
