"""TURN credentials the node hands out work with Debian's coturn (`use-auth-secret`) until they
expire, and not after (issue 27, acceptance 3). Skipped where turnserver is not installed."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryb_plugins.voice.settings import turn_credential

from tests.conftest import free_port
from tests.voice.conftest import make_space, ok
from tests.voice.turn_client import allocate

SECRET = "s3cret"  # the same as tests/voice/conftest.py VOICE
pytestmark = pytest.mark.skipif(shutil.which("turnserver") is None, reason="coturn is not installed")


def udp_free_port() -> int:
    """A port free for TCP (free_port) and for UDP too: TURN listens on both, and a UDP socket
    someone else held once answered the probe (an echo of our own request)."""
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


@pytest.fixture
def coturn(tmp_path: Path):
    port = udp_free_port()
    proc = subprocess.Popen(
        [
            "turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={SECRET}",
            "--realm=cryb.test", "--no-tls", "--no-dtls",
            "--no-cli", "--min-port=49152", "--max-port=65535", f"--pidfile={tmp_path / 'turn.pid'}",
            f"--log-file={tmp_path / 'turn.log'}", "--simple-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:  # ready once it answers an Allocate at all (401 asks for credentials)
            try:
                allocate("127.0.0.1", port, "0:probe", "x", timeout=0.3)
                break
            except (TimeoutError, ConnectionRefusedError):
                assert proc.poll() is None and time.monotonic() < deadline, "turnserver did not start"
                time.sleep(0.02)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def test_coturn_refuses_a_credential_once_it_has_expired_and_a_wrong_secret_always(coturn):
    fresh = turn_credential(SECRET, "u1", time.time(), 600)
    assert allocate("127.0.0.1", coturn, fresh.username, fresh.credential) == 200
    expired = turn_credential(SECRET, "u1", time.time() - 60, 30)  # issued a minute ago for 30 s
    assert allocate("127.0.0.1", coturn, expired.username, expired.credential) == 401
    forged = turn_credential("not-the-secret", "u1", time.time(), 600)
    assert allocate("127.0.0.1", coturn, forged.username, forged.credential) == 401


async def test_the_nodes_credential_works_until_the_configured_ttl_and_then_not(
    coturn, aiohttp_client, tmp_path
):
    from cryb_node.app import build_app
    from tests.voice.conftest import voice_config

    config = voice_config(tmp_path / "data", turn_urls=[f"turn:127.0.0.1:{coturn}"], turn_ttl_s=2)
    client = await aiohttp_client(build_app(config))
    space = await make_space(client)
    member = await space.join()
    out = await ok(client, "GET", f"/channels/{space.voice}/voice", member)
    turn = out["ice_servers"][1]
    assert turn["urls"] == [f"turn:127.0.0.1:{coturn}"]
    assert allocate("127.0.0.1", coturn, turn["username"], turn["credential"]) == 200
    # coturn compares the expiry with its own clock: wait (real time) until it has passed.
    await asyncio.sleep(max(0.0, out["ice_expires_at"] + 1.1 - time.time()))
    assert allocate("127.0.0.1", coturn, turn["username"], turn["credential"]) == 401
