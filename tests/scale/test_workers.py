"""`cryb serve --workers 2`: one port, a local nats-server, the primary and an edge (issue 25)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import ROOT, cryb_env, free_port

from .conftest import CONFIG, needs_nats
from .helpers import Listener, call, register
from .test_edges import _community, _readyz

pytestmark = needs_nats


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


async def _start_workers(tmp_path: Path, port: int, config_text: str = CONFIG) -> subprocess.Popen[bytes]:
    config = tmp_path / "cryb.toml"
    config.write_text(config_text, encoding="utf-8")
    log = tmp_path / "workers.log"
    seen = log.read_text().count("edge(s) on") if log.exists() else 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "cryb_node", "--config", str(config), "serve", "--workers", "2",
         "--port", str(port), "--data", str(tmp_path / "data")],
        env=cryb_env(), stderr=open(log, "a"), cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while log.read_text().count("edge(s) on") == seen:
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        await asyncio.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> tuple[int, list[int]]:
    children = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(60)
    left = [pid for pid in children if os.path.exists(f"/proc/{pid}")]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return code, left


async def test_workers_serve_one_port_with_a_local_nats_and_stop_cleanly(tmp_path: Path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = await _start_workers(tmp_path, port)
    try:
        assert len(_children(proc.pid)) == 3  # nats-server, the primary, one edge
        # the port is shared by the primary and the edge: both report their side of the stream
        for _ in range(6):
            ready = await _readyz(base)
            assert ready["status"] == "ready" and ready["checks"]["stream"]["ok"], ready
        async with aiohttp.ClientSession() as http:
            _, owl = await register(http, base, "owl")
            _, text = await _community(http, base, owl, "workroom")
            listener = await Listener(base, owl).open()
            try:
                said = await call(
                    http, base, "POST", f"channels/{text}/messages", owl, json={"content": "hi"}
                )
                await listener.wait_messages({said["id"]})
            finally:
                await listener.close()
        # links name the public port (the primary's own is private)
        link = (tmp_path / "data" / "setup-link.txt").read_text()
        assert f":{port}/" in link, link
    finally:
        code, left = _stop(proc)
    assert code == 0 and left == []
    # started again, the edge resumes its own replica (no new snapshot) and has everything
    edge_db = tmp_path / "data" / "workers" / "edge-1" / "cryb.db"
    inode = edge_db.stat().st_ino
    proc = await _start_workers(tmp_path, port)
    try:
        assert edge_db.stat().st_ino == inode
        async with aiohttp.ClientSession() as http:
            history = await call(http, base, "GET", f"channels/{text}/messages", owl)
            assert said["id"] in [m["id"] for m in history["messages"]]
    finally:
        code, left = _stop(proc)
    assert code == 0 and left == []


SIGN_INS = 10  # the auth bucket's limit per window in the next test
LIMITED = CONFIG.replace(
    "[rate_limits]\nenabled = false",
    f"[rate_limits]\nenabled = true\n[rate_limits.buckets.auth]\nlimit = {SIGN_INS}\nwindow_s = 600",
)


async def _sign_in_statuses(base: str, source: str, n: int) -> list[int]:
    """``n`` failed sign-ins from the loopback address ``source``, a new connection each (so the
    kernel hands them to the primary or the edge as it does real clients)."""
    statuses = []
    for i in range(n):
        connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            body = {"login": f"nobody{i}", "password": "not the password"}
            async with http.post(f"{base}/api/v1/auth/login", json=body) as resp:
                statuses.append(resp.status)
    return statuses


async def test_workers_count_each_client_address_apart_for_sign_ins_through_the_edge(tmp_path: Path):
    """The edge forwards a sign-in to the primary's private port: the primary must count it against
    the client's address, not the edge's (one bucket for every client of the edge)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    assert LIMITED != CONFIG
    proc = await _start_workers(tmp_path, port, LIMITED)
    try:
        greedy = await _sign_in_statuses(base, "127.0.0.2", SIGN_INS * 5)
        assert 429 in greedy  # this client used up its own window
        # another client: its sign-ins, whichever process the kernel gives them to, are its own
        polite = await _sign_in_statuses(base, "127.0.0.3", SIGN_INS - 2)
        assert 429 not in polite, polite
    finally:
        code, _ = _stop(proc)
    assert code == 0
