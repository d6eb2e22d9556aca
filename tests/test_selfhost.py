"""Self-hosting pieces: systemd readiness notification, the unit file, the single-file binary."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port


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


def _http(base: str, method: str, path: str, token: str | None = None, body=None, data=None, ctype=None):
    import json
    import urllib.request

    payload = data if data is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(base + path, method=method, data=payload)
    req.add_header("Content-Type", ctype or "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return json.loads(raw) if raw and resp.headers.get_content_type().endswith("json") else raw


def _multipart(name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "crybsmokeboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()  # fmt: skip
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def smoke(binary: Path, work: Path) -> None:
    """serve, register, post, upload an image (libvips), search, `cryb backup status`, doctor."""
    import time

    import pyvips

    env = {"PATH": "/usr/bin:/bin", "HOME": str(work)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = work / "data"
    args = [str(binary), "serve", "--port", str(port), "--data", str(data)]
    proc = subprocess.Popen(args, cwd=work, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                if _http(base, "GET", "/readyz")["status"] == "ready":
                    break
            except OSError:
                time.sleep(0.1)
        body = {"username": "smoke", "email": "smoke@example.test", "password": "smoke test password"}
        token = _http(base, "POST", "/api/v1/auth/register", body=body)["access_token"]
        com = _http(base, "POST", "/api/v1/communities", token, {"name": "Smokers"})
        chans = _http(base, "GET", f"/api/v1/communities/{com['id']}/channels", token)
        channel = chans["channels"][0]["id"]
        png = pyvips.Image.black(64, 48).new_from_image([200, 30, 60]).write_to_buffer(".png")
        form, ctype = _multipart("file", "smoke.png", png)
        media = _http(base, "POST", "/api/v1/media", token, data=form, ctype=ctype)
        assert media["width"] == 64 and {"webp", "original"} <= {v["name"] for v in media["variants"]}, media
        msg = _http(base, "POST", f"/api/v1/channels/{channel}/messages", token,
                    {"content": "binary smoke signal", "attachments": [media["id"]]})  # fmt: skip
        for _ in range(100):
            found = _http(base, "GET", "/api/v1/search?q=smoke", token)
            if any(r["id"] == msg["id"] for r in found["results"]):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"search never found the message: {found}")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, proc.stderr.read()[-2000:]
    status = subprocess.run([str(binary), "--data", str(data), "backup", "status"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert status.returncode == 0 and "not configured" in status.stdout, status.stdout + status.stderr
    doctor = subprocess.run([str(binary), "--data", str(data), "doctor", "--offline"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


@pytest.mark.slow
def test_binary_runs_from_an_empty_directory_without_python_packages(tmp_path: Path):
    """make binary, copy dist/cryb into an empty directory, run it with a minimal environment."""
    subprocess.run(["make", "binary"], cwd=ROOT, check=True, timeout=1800)
    work = tmp_path / "empty"
    work.mkdir()
    shutil.copy(ROOT / "dist" / "cryb", work / "cryb")
    smoke(work / "cryb", work)
