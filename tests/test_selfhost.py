"""Self-hosting pieces: systemd readiness notification, the unit file, the single-file binary."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def test_serve_notifies_systemd_ready_once_readyz_would_be_green(node_process, demo_config_file, tmp_path):
    address = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(30)
    try:
        node = node_process(demo_config_file, NOTIFY_SOCKET=address).start()
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        assert messages[0].startswith("STATUS=starting")
        assert "STATUS=ready" in messages[-1] or "STATUS=degraded" in messages[-1]
        assert node.terminate() == 0
        assert sock.recv(4096).decode() == "STOPPING=1"
    finally:
        sock.close()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path):
    unit = (ROOT / "packaging" / "systemd" / "cryb.service").read_text()
    assert "Type=notify" in unit and "DynamicUser=yes" in unit and "NoNewPrivileges=yes" in unit
    # verify insists the ExecStart binary exists and is executable; point it at the venv's cryb.
    cryb = Path(sys.executable).parent / "cryb"
    (tmp_path / "cryb.service").write_text(unit.replace("/usr/local/bin/cryb", str(cryb)))
    res = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "cryb.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "cryb.service" not in res.stderr  # no warnings about our unit


SMOKE = r"""
set -eu
BIN=$1; PORT=$2; DATA=$3
"$BIN" --version
"$BIN" serve --port "$PORT" --data "$DATA" >serve.log 2>&1 &
pid=$!
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/readyz"
kill -TERM $pid; wait $pid
"$BIN" --data "$DATA" doctor
"""


@pytest.mark.slow
def test_binary_runs_from_an_empty_directory_without_python_packages(tmp_path: Path):
    """make binary, copy dist/cryb into an empty directory, run it with a minimal environment."""
    subprocess.run(["make", "binary"], cwd=ROOT, check=True, timeout=1800)
    work = tmp_path / "empty"
    work.mkdir()
    shutil.copy(ROOT / "dist" / "cryb", work / "cryb")
    script = tmp_path / "smoke.sh"
    script.write_text(SMOKE)
    from tests.conftest import free_port

    env = {"PATH": "/usr/bin:/bin", "HOME": str(work)}
    res = subprocess.run(
        ["bash", str(script), str(work / "cryb"), str(free_port()), str(work / "data")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert '"status":"ready"' in res.stdout
