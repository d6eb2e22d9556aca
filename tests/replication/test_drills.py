"""Restore drills with `cryb serve` processes and the `cryb backup` commands: SIGKILL, lose the
data directory, restore, start; point-in-time restore; restore-on-start; status, now, list, verify."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from cryb_node.backup import replication
from cryb_node.backup.litestream import binary
from cryb_node.config import ReplicationSection
from tests.conftest import cryb_env, run_cryb
from tests.replication.site import Site
from tests.replication_fixtures import note_ids_in, replication_toml
from tests.support.waiting import eventually_blocking
from tests.users_fixtures import FAST_HASHING


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _post_notes(url: str, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        req = urllib.request.Request(
            f"{url}/api/v1/demo/notes",
            data=json.dumps({"text": f"{tag}-{i}"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 201
            ids.append(json.loads(resp.read())["id"])
    return ids


def _missing(url: str, ids: list[str]) -> list[str]:
    gone = []
    for note_id in ids:
        try:
            urllib.request.urlopen(f"{url}/api/v1/demo/notes/{note_id}", timeout=5).close()
        except urllib.error.HTTPError:
            gone.append(note_id)
    return gone


def _cryb(config: Path, data: Path, *args: str, timeout: float = 60, **env: str):
    return run_cryb("--config", str(config), "--data", str(data), *args, timeout=timeout, env=cryb_env(**env))


def _caught_up(data: Path, since: float) -> bool:
    """The node's status, written after ``since``, says everything is in the replica."""
    st = replication.read_status(data)
    return (
        st is not None
        and st.updated_at > since
        and st.state == "running"
        and st.lag_s == 0
        and st.last_error is None
        and st.replica_txid >= st.db_txid > 0
    )


def _kill_and_wait_for_litestream(node: Any, data: Path) -> None:
    """SIGKILL the node; its litestream child gets SIGTERM, syncs once more and exits."""
    st = replication.read_status(data)
    node.kill()
    if st is not None and st.pid is not None:
        eventually_blocking(lambda: not replication.node_alive(st.pid), timeout=15, what="litestream to exit")


def _wait_caught_up(data: Path, timeout: float = 20) -> None:
    since = time.time()
    eventually_blocking(lambda: _caught_up(data, since), timeout=timeout, what="the replica to catch up")


def test_disaster_drill_s3_sigkill_lose_the_data_dir_restore_start(node_process, tmp_path: Path, s3_server):
    interval = 0.5
    settings = s3_server.settings(f"drill-{uuid.uuid4().hex[:8]}", sync_interval_s=interval)
    # Credentials from the environment, beside an AWS_CA_BUNDLE that would break litestream 0.5.17
    # against a plain-http endpoint if the child inherited it.
    del settings["access_key_id"], settings["secret_access_key"]
    config = tmp_path / "cryb.toml"
    config.write_text(replication_toml(settings, **{"plugin.users": FAST_HASHING}))
    env = {
        "AWS_ACCESS_KEY_ID": s3_server.key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret,
        "AWS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    }
    data = tmp_path / "data"
    node = node_process(config, **env).start()
    before = _get(node.url + "/api/v1/node")
    acked = _post_notes(node.url, 20, "kept")
    # Search and media: a message with an attached image, and one to find by a rare word.
    site = Site.register(node.url)
    image = site.upload(_png(), "drill.png")
    site.message("the drill photo", [image["id"]])
    found = site.message("zanzibarite is the word to find")
    served = site.variants(image["id"])
    assert served["original"][:8] == b"\x89PNG\r\n\x1a\n"
    # `cryb backup now`: a snapshot, and the new blobs copied beside it (content-addressed).
    now = _cryb(config, data, "backup", "now", **env)
    assert now.returncode == 0, now.stderr
    assert f"{len(served)} local blobs, all in the replica" in now.stdout, now.stdout
    status = _cryb(config, data, "backup", "status", **env)
    assert f"media copied:  {len(served)} blobs" in status.stdout, status.stdout
    assert "media:         local blobs in" in status.stdout
    metrics = urllib.request.urlopen(node.url + "/metrics", timeout=5).read().decode()
    assert f"cryb_replication_media_copied_blobs_total {len(served)}.0" in metrics
    # Litestream looks at the WAL every interval and ships every interval: two intervals plus
    # a margin for the upload.
    time.sleep(2 * interval + 1.0)
    _post_notes(node.url, 5, "maybe")  # acknowledged just before the kill: may be lost
    _kill_and_wait_for_litestream(node, data)
    shutil.rmtree(data)

    restored = _cryb(config, data, "backup", "restore", timeout=120, **env)
    assert restored.returncode == 0, restored.stderr
    assert "restored txid" in restored.stdout and "restore:" in restored.stderr  # progress shown
    assert f"media: {len(served)} blobs copied back" in restored.stdout, restored.stdout

    again = node_process(config, **env).start()
    assert _missing(again.url, acked) == []
    after = _get(again.url + "/api/v1/node")
    assert after["origin"] != before["origin"]  # a new log key: no sequence number is reused
    # Media work again: every variant serves the same bytes. Search works again once the
    # plugin has rebuilt its (lost) index from the restored database.
    site.login(again.url)
    assert site.variants(image["id"]) == served
    assert [h["id"] for h in site.wait_found("zanzibarite")] == [found["id"]]
    # The restored node replicates again, and its new writes reach the replica.
    new = _post_notes(again.url, 3, "after")
    _wait_caught_up(data, timeout=30)
    assert again.terminate() == 0
    doctor = _cryb(config, data, "doctor", "--offline", **env)
    assert doctor.returncode == 0, doctor.stdout
    copy = tmp_path / "second-restore.db"
    assert _cryb(config, data, "backup", "restore", "--to", str(copy), **env).returncode == 0
    assert set(acked + new) <= note_ids_in(copy)


def _png() -> bytes:
    import pyvips

    x = pyvips.Image.xyz(96, 64)
    return (
        x[0].bandjoin([x[1], (x[0] + x[1]) % 256]).cast("uchar").copy(interpretation="srgb").pngsave_buffer()
    )


def test_point_in_time_restore_between_two_batches_gets_exactly_the_first(node_process, tmp_path: Path):
    config = tmp_path / "cryb.toml"
    replica = tmp_path / "replica"
    config.write_text(
        replication_toml({"enabled": True, "type": "file", "path": str(replica), "sync_interval_s": 0.5})
    )
    data = tmp_path / "data"
    node = node_process(config).start()
    first = _post_notes(node.url, 5, "first")
    _wait_caught_up(data)
    time.sleep(1.1)  # replica files carry millisecond timestamps; keep the batches well apart
    between = time.time()
    time.sleep(1.1)
    second = _post_notes(node.url, 5, "second")
    _wait_caught_up(data)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(between)) + f".{int(between % 1 * 1000):03d}Z"

    out = tmp_path / "pit.db"
    done = _cryb(config, data, "backup", "restore", "--timestamp", stamp, "--to", str(out))
    assert done.returncode == 0, done.stderr
    assert note_ids_in(out) == set(first)
    latest = tmp_path / "latest.db"
    assert _cryb(config, data, "backup", "restore", "--to", str(latest)).returncode == 0
    assert note_ids_in(latest) == set(first + second)
    too_early = _cryb(
        config,
        data,
        "backup",
        "restore",
        "--timestamp",
        "2001-01-01T00:00:00Z",
        "--to",
        str(tmp_path / "x.db"),
    )
    assert too_early.returncode == 1 and "nothing to restore at that time" in too_early.stderr
    bad = _cryb(config, data, "backup", "restore", "--timestamp", "yesterday", "--to", str(tmp_path / "y.db"))
    assert bad.returncode == 1 and "not an ISO 8601 time" in bad.stderr
    assert node.terminate() == 0


def test_backup_commands_and_restore_on_start(node_process, tmp_path: Path):
    config = tmp_path / "cryb.toml"
    settings = {
        "enabled": True,
        "type": "file",
        "path": str(tmp_path / "replica"),
        "sync_interval_s": 0.5,
        "restore_on_start": True,
    }
    config.write_text(replication_toml(settings))
    data = tmp_path / "data"
    node = node_process(config).start()
    before = _get(node.url + "/api/v1/node")
    ids = _post_notes(node.url, 5, "n")
    _wait_caught_up(data)

    status = _cryb(config, data, "backup", "status")
    assert status.returncode == 0 and "state:         running" in status.stdout and "lag:" in status.stdout
    ids += _post_notes(node.url, 2, "later")
    _wait_caught_up(data)
    listing = json.loads(_cryb(config, data, "backup", "list", "--json").stdout)
    assert max(s["max_txid"] for s in listing["snapshots"]) < listing["max_txid"]
    # A media blob of the local backend (as the media plugin stores one) goes with `backup now`.
    blob = b"an uploaded file's bytes"
    key = hashlib.sha256(blob).hexdigest()
    blob_path = data / "media" / "blobs" / key[:2] / key[2:4] / key
    blob_path.parent.mkdir(parents=True)
    blob_path.write_bytes(blob)
    now = _cryb(config, data, "backup", "now")
    assert now.returncode == 0 and "snapshot taken by the running node" in now.stdout
    assert "media: 1 blobs copied since the node started" in now.stdout, now.stdout
    assert (tmp_path / "replica" / "media" / key[:2] / key[2:4] / key).read_bytes() == blob
    listing = json.loads(_cryb(config, data, "backup", "list", "--json").stdout)
    # A full snapshot of the current state now exists beside the first one.
    assert [s["max_txid"] for s in listing["snapshots"]][-1] == listing["max_txid"]
    assert len(listing["snapshots"]) >= 2 and listing["earliest"] <= listing["latest"]
    assert listing["target"].startswith("file://")
    refused = _cryb(config, data, "backup", "restore")
    assert refused.returncode == 1 and "the node is running" in refused.stderr
    verified = _cryb(config, data, "backup", "verify", "--json")
    assert verified.returncode == 0, verified.stdout
    checks = {c["check"]: c for c in json.loads(verified.stdout)["checks"]}
    assert checks["event_log"]["detail"] == "7 events verified" and checks["integrity"]["ok"]

    assert node.terminate() == 0  # SIGTERM: a final sync, then litestream stops
    st = replication.read_status(data)
    assert st is not None and st.state == "stopped" and st.lag_s == 0
    exists = _cryb(config, data, "backup", "restore")
    assert exists.returncode == 1 and "--force" in exists.stderr
    shutil.rmtree(data)
    again = node_process(config).start()  # restore_on_start: the database comes back by itself
    assert _missing(again.url, ids) == []
    assert blob_path.read_bytes() == blob  # ... and the media blobs with it
    assert _get(again.url + "/api/v1/node")["origin"] != before["origin"]
    assert again.terminate() == 0


def test_backup_commands_say_when_replication_is_not_configured(tmp_path: Path, demo_config_file: Path):
    for args in (["list"], ["now"], ["restore", "--to", str(tmp_path / "x.db")]):
        out = _cryb(demo_config_file, tmp_path / "data", "backup", *args)
        assert out.returncode == 1 and "replication is not configured" in out.stderr
    status = _cryb(demo_config_file, tmp_path / "data", "backup", "status")
    assert status.returncode == 0 and "not configured" in status.stdout


def test_litestream_binary_from_the_venv_runs():
    exe = binary(ReplicationSection())
    out = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith("0.5.")


@pytest.mark.slow
def test_long_drill_sustained_writes_litestream_kills_then_node_sigkill(
    node_process, tmp_path: Path, s3_server
):
    """The long version: writers never stop, Litestream is killed twice, then the node; every
    write acknowledged more than (sync interval + one look at the WAL + 1 s upload) before the
    kill comes back."""
    import threading

    interval = 1.0
    config = tmp_path / "cryb.toml"
    config.write_text(
        replication_toml(s3_server.settings(f"long-{uuid.uuid4().hex[:8]}", sync_interval_s=interval))
    )
    data = tmp_path / "data"
    node = node_process(config).start()
    acked: list[tuple[str, float]] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            try:
                acked.append((_post_notes(node.url, 1, f"w{i}")[0], time.time()))
            except OSError:
                return
            i += 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(2):
        time.sleep(4)
        st = replication.read_status(data)
        assert st is not None and st.pid is not None
        os.kill(st.pid, signal.SIGKILL)
    time.sleep(6)
    killed_at = time.time()
    _kill_and_wait_for_litestream(node, data)
    stop.set()
    for t in threads:
        t.join(10)
    shutil.rmtree(data)
    assert _cryb(config, data, "backup", "restore", timeout=300).returncode == 0
    restored = note_ids_in(data / "cryb.db")
    safe = [note_id for note_id, at in acked if at < killed_at - (2 * interval + 1.0)]
    assert len(safe) > 100
    assert [n for n in safe if n not in restored] == []
    again = node_process(config).start()
    assert _missing(again.url, safe[-20:]) == []
    assert again.terminate() == 0
