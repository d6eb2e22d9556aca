"""`cryb doctor`'s go-live checks name what would stop a node going live, and pass when all is well."""

from __future__ import annotations

import json
import socket
import time

from cryb_node.app import build_app
from cryb_node.db import connect
from tests.conftest import free_port, run_cryb
from tests.users_fixtures import FAST_HASHING


def _doctor(tmp_path, toml: str = "") -> dict:
    cfg = tmp_path / "cryb.toml"
    cfg.write_text(toml)
    res = run_cryb("--config", str(cfg), "--data", str(tmp_path / "data"), "doctor", "--json")
    return {c["check"]: c for c in json.loads(res.stdout)} | {"exit": res.returncode}


async def _make_node(aiohttp_client, tmp_path) -> None:
    from tests.conftest import make_config

    client = await aiohttp_client(build_app(make_config(tmp_path / "data", plugin={"users": FAST_HASHING})))
    await client.close()


async def test_a_healthy_data_dir_passes_every_check(aiohttp_client, tmp_path):
    await _make_node(aiohttp_client, tmp_path)
    port = free_port()
    got = _doctor(tmp_path, f"[server]\nport = {port}\n")
    assert got["exit"] == 0, got
    assert got["listen"]["detail"] == f"127.0.0.1:{port} is free"
    assert got["permissions"]["detail"].endswith("mode 700")
    assert got["disk"]["ok"] and got["clock"]["ok"] and got["smtp"]["ok"]


async def test_unreachable_smtp_and_replication_a_busy_port_and_a_clock_gone_back_are_named(
    aiohttp_client, tmp_path
):
    await _make_node(aiohttp_client, tmp_path)
    # Bound but never listening: connections are refused, and no other test's server can take the
    # port meanwhile (a free_port() one was, once, in a full run, and "unreachable" SMTP answered).
    with socket.socket() as shut, socket.socket() as busy:
        shut.bind(("127.0.0.1", 0))
        closed = shut.getsockname()[1]
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        conn = connect(tmp_path / "data" / "cryb.db", busy_timeout_ms=1000)
        conn.execute("INSERT INTO log_heads (origin, seq, event_id, hlc) VALUES (x'01', 1, x'02', ?)",
                     ((int(time.time() * 1000) + 3_600_000) << 16,))  # an hour ahead  # fmt: skip
        conn.close()
        got = _doctor(
            tmp_path,
            f"[server]\nport = {port}\n[mail]\nsmtp_host = '127.0.0.1'\nsmtp_port = {closed}\n"
            f"[replication]\nenabled = true\ntype = 's3'\nbucket = 'b'\nendpoint = 'http://127.0.0.1:{closed}'\n"
            "access_key_id = 'k'\nsecret_access_key = 's'\n",
        )
    assert got["exit"] == 1
    assert not got["listen"]["ok"] and f"127.0.0.1:{port}" in got["listen"]["detail"]
    assert not got["smtp"]["ok"] and f"127.0.0.1:{closed} unreachable" in got["smtp"]["detail"]
    assert not got["replication"]["ok"] and "unreachable" in got["replication"]["detail"]
    assert not got["clock"]["ok"] and "fix NTP" in got["clock"]["detail"]


async def test_a_data_dir_open_to_others_is_flagged(aiohttp_client, tmp_path):
    await _make_node(aiohttp_client, tmp_path)
    (tmp_path / "data").chmod(0o755)
    got = _doctor(tmp_path, f"[server]\nport = {free_port()}\n")
    assert got["exit"] == 1 and "chmod o-rwx" in got["permissions"]["detail"]
