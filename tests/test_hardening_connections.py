"""Idle and slow sockets cannot take the node offline: under a 1,024 file-descriptor limit, 2,000
sockets opened from one address (idle ones, and ones sending a byte a second) leave /healthz
answering other clients fast, and the node closes the sockets that never finish a request.
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, cryb_env, free_port

# Runs in its own process so its 2,000 sockets cost the measuring client no CPU (or GIL).
ATTACKER = textwrap.dedent(
    """
    import json, resource, socket, sys, time
    port, count, hold_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
    held, failed = [], 0
    give_up = time.monotonic() + 15
    for i in range(count):
        if time.monotonic() > give_up:
            failed += count - i
            break
        s = socket.socket()
        s.settimeout(0.25)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            failed += 1
            s.close()
            continue
        s.setblocking(False)
        held.append((s, i % 2 == 1))  # every other socket dribbles a request a byte a second
    print("opened", flush=True)
    request = b"GET /healthz HTTP/1.1\\r\\nHost: node\\r\\nX-Slow: " + b"z" * 200
    closed = set()
    end = time.monotonic() + hold_s
    for step in range(int(hold_s) + 1):
        if time.monotonic() > end:
            break
        for n, (s, slow) in enumerate(held):
            if n in closed:
                continue
            try:
                if s.recv(4096) == b"":
                    closed.add(n)
                    continue
            except BlockingIOError:
                pass
            except OSError:
                closed.add(n)
                continue
            if slow:
                try:
                    s.send(request[step % len(request) : step % len(request) + 1])
                except OSError:
                    closed.add(n)
        time.sleep(1)
    still_open = len(held) - len(closed)
    print(json.dumps({"held": len(held), "failed": failed, "still_open": still_open}), flush=True)
    """
)


def _start_node(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], int, Path]:
    port = free_port()
    log = tmp_path / "node.log"

    def limit_fds() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))

    args = [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", str(tmp_path / "data")]
    with open(log, "w") as err:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=cryb_env(**env), stderr=err, text=True, preexec_fn=limit_fds
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc, port, log
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(log.read_text()[-2000:])


def _healthz_ms(port: int) -> float:
    """One /healthz on a fresh connection from another loopback address (another client)."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=2, source_address=("127.0.0.2", 0)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    return (time.perf_counter() - started) * 1000


@pytest.mark.skipif(
    resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 4096, reason="needs a hard fd limit >= 4096"
)
def test_two_thousand_idle_and_slow_sockets_leave_healthz_fast(tmp_path: Path):
    node, port, log = _start_node(tmp_path, CRYB_SERVER__HEADER_TIMEOUT_S="4", CRYB_LOG__LEVEL="WARNING")
    attacker = None
    try:
        # The reference, in the same run: the node unattacked. On a quiet two-core machine nine
        # polls in ten take ~2 ms; when other work on the machine makes them slow, a 100 ms bound
        # measures the machine, not the node, and the test says so instead of guessing.
        reference = sorted(_healthz_ms(port) for _ in range(40))
        if reference[35] > 10:
            pytest.skip(f"the machine is too busy to time: an idle node's p90 is {reference[35]:.1f} ms")
        attacker = subprocess.Popen(
            [sys.executable, "-c", ATTACKER, str(port), "2000", "10"], stdout=subprocess.PIPE, text=True
        )
        timings, failures = [], []
        deadline = time.monotonic() + 40
        while attacker.poll() is None and time.monotonic() < deadline:
            try:
                timings.append(_healthz_ms(port))
            except (OSError, AssertionError) as err:
                failures.append(repr(err))
            time.sleep(0.05)  # pacing of the measuring client, not a wait for a condition
        out, _ = attacker.communicate(timeout=30)
        result = json.loads(out.strip().splitlines()[-1])

        timings.sort()
        print(f"healthz during the attack: n={len(timings)} median={timings[len(timings) // 2]:.1f} ms "
              f"p90={timings[int(len(timings) * 0.9)]:.1f} ms max={timings[-1]:.1f} ms {result}")  # fmt: skip
        # Every poll is answered, and every one in under 100 ms: the sockets queued ahead of
        # another client's are drained a few dozen per turn of the loop (GuardedSite._accept).
        assert not failures, failures[:3]
        assert len(timings) > 50
        assert timings[-1] < 100, timings[-10:]
        # The per-address cap refused most sockets; the header deadline closed the ones it let in.
        assert result["held"] + result["failed"] == 2000
        assert result["still_open"] == 0, result
        assert node.poll() is None
        assert log.stat().st_size < 1_000_000
        assert "out of system resource" not in log.read_text()
    finally:
        if attacker is not None and attacker.poll() is None:
            attacker.kill()
        node.terminate()
        node.wait(30)


def test_accept_errors_are_logged_once_a_minute_not_once_a_try(tmp_path: Path):
    """With the caps set past the descriptor limit, accept() fails; the log says so once."""
    env = {"CRYB_SERVER__MAX_CONNECTIONS": "100000", "CRYB_SERVER__MAX_CONNECTIONS_PER_ADDRESS": "100000"}
    node, port, log = _start_node(tmp_path, **env)
    held = []
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 2048:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2048), hard))
        for _ in range(1300):
            s = socket.socket()
            s.settimeout(0.05)
            try:
                s.connect(("127.0.0.1", port))
                held.append(s)
            except OSError:
                s.close()
        # Let asyncio retry accept() a few times (it retries once a second) before reading the log.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            time.sleep(0.25)
        text = log.read_text()
        assert text.count("out of file descriptors") == 1, text[-2000:]
        assert "socket.accept() out of system resource" not in text
    finally:
        for s in held:
            s.close()
        node.terminate()
        node.wait(30)


def test_systemd_unit_raises_the_file_descriptor_limit():
    unit = (ROOT / "packaging" / "systemd" / "cryb.service").read_text()
    limits = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert limits and int(limits[-1].split(":")[-1]) >= 8192


def _closed_within(sock: socket.socket, seconds: float, dribble: bytes = b"") -> float | None:
    """Seconds until the node closes ``sock`` (sending one byte of ``dribble`` a second), or None."""
    started = time.monotonic()
    sock.settimeout(1)
    for i in range(int(seconds) + 1):
        if dribble:
            try:
                sock.send(dribble[i % len(dribble) : i % len(dribble) + 1])
            except OSError:
                return time.monotonic() - started
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    return None


def test_slow_body_and_idle_connections_are_closed(tmp_path: Path):
    env = {"CRYB_SERVER__HEADER_TIMEOUT_S": "2", "CRYB_SERVER__BODY_TIMEOUT_S": "2"}
    node, port, _ = _start_node(tmp_path, **env)
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
            took = _closed_within(s, 15, dribble=b'"aaaaaaaa')
            assert took is not None and took < 8, took
        with socket.create_connection(("127.0.0.1", port)) as s:  # connects, never sends
            took = _closed_within(s, 15)
            assert took is not None and took < 5, took
    finally:
        node.terminate()
        node.wait(30)
