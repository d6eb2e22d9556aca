"""Fault injection: a full disk. Writes are refused with a clear 507 and nothing half-written, reads
keep working, and once space is back the node writes again with every acknowledged write intact."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import NodeProcess, cryb_env, run_cryb

ENV = {
    "CRYB_RATE_LIMITS__ENABLED": "false",
    "CRYB_PLUGIN__USERS__ARGON2_OPSLIMIT": "1",
    "CRYB_PLUGIN__USERS__ARGON2_MEMLIMIT": "8192",
    "CRYB_LOG__LEVEL": "WARNING",
}


def _call(base: str, method: str, path: str, token: str | None = None, body=None) -> tuple[int, dict]:
    req = urllib.request.Request(
        base + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_refuses_writes_clearly_keeps_reading_and_recovers(small_disk: Path):
    data = small_disk / "data"
    env = cryb_env(**ENV)
    node = NodeProcess(data, None, env).start()
    try:
        _fill_and_recover(node, small_disk, data, env)
    finally:
        if node.proc and node.proc.poll() is None:
            node.proc.kill()


def _fill_and_recover(node: NodeProcess, small_disk: Path, data: Path, env: dict[str, str]) -> None:
    base = node.url
    body = {"username": "diskfull", "email": "diskfull@example.test", "password": "a long enough password"}
    status, reg = _call(base, "POST", "/api/v1/auth/register", body=body)
    assert status == 201
    token = reg["access_token"]
    _, com = _call(base, "POST", "/api/v1/communities", token, {"name": "full disk"})
    _, chans = _call(base, "GET", f"/api/v1/communities/{com['id']}/channels", token)
    channel = chans["channels"][0]["id"]
    path = f"/api/v1/channels/{channel}/messages"

    acked, refused = [], None
    for i in range(3):
        status, out = _call(base, "POST", path, token, {"content": f"before {i}"})
        assert status == 201
        acked.append(out["id"])
    # Leave the node no room, then write until it says the disk is full.
    filler = small_disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=64"], capture_output=True)
    for i in range(2000):
        status, out = _call(base, "POST", path, token, {"content": f"{i} " + "x" * 1500})
        if status == 201:
            acked.append(out["id"])
            continue
        refused = (status, out)
        break
    assert refused is not None, "the disk never filled"
    assert refused[0] == 507 and refused[1]["code"] == "storage_full", refused
    assert "disk is full" in refused[1]["detail"]

    # Reads still work while the disk is full.
    assert _call(base, "GET", "/healthz")[0] == 200
    status, page = _call(base, "GET", f"{path}?limit=5", token)
    assert status == 200 and page["messages"]

    filler.unlink()  # space is back
    status, out = _call(base, "POST", path, token, {"content": "after the disk was freed"})
    assert status == 201
    acked.append(out["id"])
    for mid in acked:
        assert _call(base, "GET", f"{path}/{mid}", token)[0] == 200
    assert node.terminate() == 0
    doctor = run_cryb("--data", str(data), "doctor", "--offline", env=env)
    assert doctor.returncode == 0, doctor.stdout
