"""`make bench` (users): sign-in rate and authenticated reads, medians over runs, each with a
reference measured in the same run.

Rows:
  - logins/s (POST /api/v1/auth/login: throttle check, argon2id verify in a worker thread, session
    insert, audit row, token signing) against raw argon2id verifications/s with the same parameters
    on all cores (threads): the floor the password hash alone sets
  - authenticated GET /api/v1/users/@me req/s (HS256 token check + revocation set + one indexed
    read with a decrypt) against GET /healthz on the same node (same middleware, no auth, no DB)
The node runs as `cryb serve` with the default argon2id parameters (libsodium INTERACTIVE) and rate
limits off. Load comes from an aiohttp client (keep-alive connections); wrk is used for the read
rows when installed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import nacl.pwhash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, Row, free_port, wait_up

OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
PASSWORD = "bench password that is long enough"


async def requests_per_s(
    url: str, seconds: float, concurrency: int, method: str = "GET", json_body=None, headers=None
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.request(method, url, json=json_body, headers=headers) as resp:
                    await resp.read()
                    if resp.status >= 400:
                        raise RuntimeError(f"{url}: {resp.status}")
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def wrk_get(url: str, seconds: float, concurrency: int, headers: dict[str, str]) -> float:
    if shutil.which("wrk") is None:
        return asyncio.run(requests_per_s(url, seconds, concurrency, headers=headers))
    cmd = ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(seconds))}s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url}: error responses during the run:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def raw_verifications_per_s(seconds: float, threads: int) -> float:
    stored = nacl.pwhash.argon2id.str(PASSWORD.encode(), opslimit=OPSLIMIT, memlimit=MEMLIMIT)
    deadline = time.perf_counter() + seconds

    def spin() -> int:
        n = 0
        while time.perf_counter() < deadline:
            nacl.pwhash.verify(stored, PASSWORD.encode())
            n += 1
        return n

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: spin(), range(threads)))
    return total / (time.perf_counter() - started)


async def setup_user(base: str) -> str:
    async with aiohttp.ClientSession() as s:
        body = {"username": "bencher", "email": "bencher@example.test", "password": PASSWORD}
        async with s.post(f"{base}/api/v1/auth/register", json=body) as resp:
            data = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"register: {resp.status} {data}")
            return data["access_token"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--login-concurrency", type=int, default=8)
    args = ap.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYB_")}
    env.update(PYTHONPATH=str(ROOT), CRYB_RATE_LIMITS__ENABLED="false", CRYB_LOG__LEVEL="WARNING")
    data = tempfile.mkdtemp(prefix="cryb-bench-users-")
    port = free_port()
    node = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    cores = os.cpu_count() or 1
    samples: dict[str, list[float]] = {k: [] for k in ("login", "raw", "me", "healthz")}
    try:
        wait_up(base + "/healthz", node)
        token = asyncio.run(setup_user(base))
        bearer = {"Authorization": f"Bearer {token}"}
        login = {"login": "bencher", "password": PASSWORD}
        for _ in range(args.runs):
            s = args.seconds
            samples["raw"].append(raw_verifications_per_s(s, cores))
            samples["login"].append(
                asyncio.run(
                    requests_per_s(f"{base}/api/v1/auth/login", s, args.login_concurrency, "POST", login)
                )
            )
            samples["healthz"].append(wrk_get(f"{base}/healthz", s, args.concurrency, {}))
            samples["me"].append(wrk_get(f"{base}/api/v1/users/@me", s, args.concurrency, bearer))
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(30)
    med = {k: statistics.median(v) for k, v in samples.items()}
    mib = MEMLIMIT // (1024 * 1024)
    rows = [
        Row("POST /auth/login (argon2id verify)", "logins/s", med["login"],
            f"raw argon2id verify, {cores} threads", med["raw"]),
        Row("GET /users/@me (bearer token)", "req/s", med["me"], "GET /healthz, same node", med["healthz"]),
    ]  # fmt: skip
    print(
        f"\nCRYB users bench: median of {args.runs} runs, {args.seconds:.0f}s each; argon2id "
        f"opslimit={OPSLIMIT} memlimit={mib} MiB (libsodium INTERACTIVE), parallelism 1; "
        f"{args.login_concurrency} login / {args.concurrency} read connections, {cores} cores\n"
    )
    print(f"| {'measure':<36} | {'value':>16} | {'reference':<30} | {'ref value':>10} | {'ratio':>6} |")
    print(f"|{'-' * 38}|{'-' * 18}|{'-' * 32}|{'-' * 12}|{'-' * 8}|")
    for r in rows:
        value = f"{r.value:.0f} {r.unit}"
        print(f"| {r.name:<36} | {value:>16} | {r.reference:<30} | {r.ref_value:>10.0f} | {r.ratio:>6.2f} |")


if __name__ == "__main__":
    main()
