"""Media blobs beside the replica (local media backend): content-addressed, incremental copies to a
folder or an S3 bucket and back, the running node's copy pass (on request and periodically), its
status in `cryb backup status` terms, /metrics and /readyz, and what is said when nothing is copied."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from cryb_node.backup import blobs, replication
from cryb_node.config import ReplicationSection
from cryb_node.plugins import load as load_plugins
from tests.conftest import make_config
from tests.media.conftest import settled
from tests.support.waiting import eventually
from tests.users_fixtures import FAST_HASHING, auth, register_user


def put_blob(root: Path, data: bytes) -> str:
    key = hashlib.sha256(data).hexdigest()
    path = root / key[:2] / key[2:4] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


def contents(root: Path) -> dict[str, bytes]:
    """Blob name -> bytes (temp files left out)."""
    return {p.name: p.read_bytes() for p in root.glob("??/??/*") if not p.name.startswith(".")}


def png(width: int, height: int) -> bytes:
    import pyvips

    x = pyvips.Image.xyz(width, height)
    return (
        x[0].bandjoin([x[1], (x[0] * x[1]) % 256]).cast("uchar").copy(interpretation="srgb").pngsave_buffer()
    )


async def upload_ok(client: Any, token: str, data: bytes) -> dict[str, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="p.png", content_type="image/png")
    resp = await client.post("/api/v1/media", data=form, headers=auth(token))
    body = await resp.json()
    assert resp.status == 201, body
    return await settled(client, token, body)  # with its AVIF, made after the answer


def folder(tmp_path: Path) -> ReplicationSection:
    return ReplicationSection(enabled=True, type="file", path=str(tmp_path / "replica"))


def test_folder_target_copies_only_missing_blobs_and_restores_them(tmp_path: Path):
    cfg = folder(tmp_path)
    local = tmp_path / "blobs"
    keys = [put_blob(local, os.urandom(1000 + i)) for i in range(3)]
    (local / keys[0][:2] / keys[0][2:4] / f".{keys[0]}.99.tmp").write_bytes(b"half")  # an upload's temp

    first = blobs.push(cfg, local)
    assert (first.blobs, first.copied, first.bytes) == (3, 3, 1000 + 1001 + 1002)
    replica = tmp_path / "replica" / "media"
    assert contents(replica) == contents(local)  # same layout: media/ab/cd/<sha256>
    assert not list(replica.rglob(".*"))  # the upload's temp file stayed behind
    assert blobs.push(cfg, local).copied == 0  # incremental: nothing new, nothing copied
    newer = put_blob(local, b"a fourth blob")
    again = blobs.push(cfg, local)
    assert (again.blobs, again.copied, again.bytes) == (4, 1, len(b"a fourth blob"))

    # Restore: only what the node lacks comes back, and only with the bytes its name promises.
    lost = tmp_path / "restored"
    put_blob(lost, b"a fourth blob")
    target = replica / keys[1][:2] / keys[1][2:4] / keys[1]
    target.write_bytes(b"damaged on the target")
    back = blobs.pull(cfg, lost)
    assert (back.blobs, back.copied, back.skipped_bad) == (4, 2, 1)
    assert set(contents(lost)) == {keys[0], keys[2], newer}
    assert all(hashlib.sha256(v).hexdigest() == k for k, v in contents(lost).items())
    assert not [p for p in lost.rglob(".*")]  # the refused download left no temp file
    assert blobs.pull(cfg, lost).copied == 0


def test_s3_target_keeps_blobs_under_the_replica_path_and_refuses_wrong_credentials(
    tmp_path: Path, s3_server
):
    import boto3

    prefix = f"media-{uuid.uuid4().hex[:8]}"
    cfg = ReplicationSection(**s3_server.settings(prefix))
    local = tmp_path / "blobs"
    keys = {put_blob(local, os.urandom(2000)) for _ in range(2)}
    assert blobs.push(cfg, local).copied == 2
    assert blobs.push(cfg, local).copied == 0
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=s3_server.key,
        aws_secret_access_key=s3_server.secret,
    )
    listed = s3.list_objects_v2(Bucket=s3_server.bucket, Prefix=f"{prefix}/")["Contents"]
    assert {o["Key"] for o in listed} == {f"{prefix}/media/{k[:2]}/{k[2:4]}/{k}" for k in keys}
    back = tmp_path / "restored"
    assert blobs.pull(cfg, back).copied == 2 and contents(back) == contents(local)

    bad = ReplicationSection(**s3_server.settings(prefix, secret_access_key="not-the-secret"))
    put_blob(local, b"never shipped")
    with pytest.raises(blobs.MediaBackupError) as err:
        blobs.push(bad, local)
    assert "copying media blobs failed" in str(err.value) and "not-the-secret" not in str(err.value)
    assert "SignatureDoesNotMatch" in str(err.value) or "403" in str(err.value)


def test_what_is_said_when_nothing_is_copied(tmp_path: Path):
    s3_media = {"storage": "s3", "s3": {"bucket": "media", "endpoint": "http://127.0.0.1:9"}}
    config = make_config(tmp_path / "data", plugin={"media": s3_media})
    src = blobs.source(load_plugins(config), config.data_path)
    assert src.mode == "s3" and "nothing to copy" in src.note
    local = blobs.source(load_plugins(make_config(tmp_path / "data")), tmp_path / "data")
    assert local == blobs.Source("local", str(tmp_path / "data" / "media" / "blobs"))
    off = make_config(tmp_path / "data", plugins={"disabled": ["media"]})
    assert blobs.source(load_plugins(off), tmp_path / "data").mode == "none"
    sftp = ReplicationSection(enabled=True, type="sftp", host="h:22", user="u")
    assert not blobs.supported(sftp)
    with pytest.raises(blobs.MediaBackupError, match="not copied to sftp"):
        blobs.target(sftp)
    # Every sync interval x 30, never more often than every 10 s.
    assert blobs.interval_s(ReplicationSection(sync_interval_s=1.0)) == 30.0
    assert blobs.interval_s(ReplicationSection(sync_interval_s=0.1)) == 10.0


async def test_running_node_copies_uploaded_media_on_request_and_reports_it(
    aiohttp_client, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(blobs, "MIN_INTERVAL_S", 1.0)
    monkeypatch.setattr(blobs, "INTERVAL_FACTOR", 10)
    monkeypatch.setattr(replication, "MEDIA_RETRY_S", 0.5)
    repl: dict[str, Any] = {
        "enabled": True,
        "type": "file",
        "path": str(tmp_path / "replica"),
        "sync_interval_s": 0.1,  # media every 1 s here
    }
    config = make_config(
        tmp_path / "data", replication=repl, plugin={"users": FAST_HASHING}, rate_limits={"enabled": False}
    )
    client = await aiohttp_client(build_app(config))
    node = client.server.app[NODE]
    rep = node.replication
    assert rep is not None
    await eventually(lambda: rep.status().media_runs >= 1, timeout=20, what="the first media pass at start")
    assert rep.status().media_copied == 0 and rep.status().media.startswith("local blobs in ")

    _, token = await register_user(client)
    media = await upload_ok(client, token, png(80, 60))
    local = tmp_path / "data" / "media" / "blobs"
    asked = time.time()
    rep.request_snapshot()  # what `cryb backup now` asks of a running node (SIGUSR1)
    await eventually(
        lambda: (rep.status().media_pass_ended_at or 0) > asked, timeout=20, what="the requested pass"
    )
    st = rep.status()
    held = contents(local)
    assert len(held) == len(media["variants"]) and contents(tmp_path / "replica" / "media") == held
    assert st.media_copied == len(held) and st.media_bytes == sum(map(len, held.values()))
    assert st.media_error is None and st.media_last_run_at is not None and st.media_last_run_at >= asked
    await eventually(lambda: rep.status().snapshots == 1, timeout=20, what="the snapshot")

    metrics = await (await client.get("/metrics")).text()
    assert f"cryb_replication_media_copied_blobs_total {len(held)}.0" in metrics
    assert f"cryb_replication_media_local_blobs {len(held)}.0" in metrics
    assert "cryb_replication_media_error 0.0" in metrics

    # The periodic pass picks up a second upload by itself, and copies only that.
    second = await upload_ok(client, token, png(40, 40))
    await eventually(
        lambda: rep.status().media_copied == len(held) + len(second["variants"]),
        timeout=10,
        what="the periodic pass",
    )
    assert contents(tmp_path / "replica" / "media") == contents(local)

    # A target that cannot be written: the node keeps serving, status and /readyz say why.
    (tmp_path / "replica" / "media").rename(tmp_path / "media-moved")
    (tmp_path / "replica" / "media").write_text("not a folder")
    await upload_ok(client, token, png(30, 30))
    rep.request_snapshot()
    error = await eventually(lambda: rep.status().media_error, timeout=10, what="the media error")
    assert error.startswith("copying media blobs failed")
    body = await (await client.get("/readyz")).json()
    assert body["status"] == "degraded" and "media blobs" in body["checks"]["replication"]["detail"]
    assert "cryb_replication_media_error 1.0" in await (await client.get("/metrics")).text()
    resp = await client.get("/api/v1/media/" + media["id"], headers=auth(token))
    assert resp.status == 200
    (tmp_path / "replica" / "media").unlink()
    (tmp_path / "media-moved").rename(tmp_path / "replica" / "media")
    await eventually(lambda: rep.status().media_error is None, timeout=10, what="the error to clear")
    assert contents(tmp_path / "replica" / "media") == contents(local)
    await asyncio.sleep(0)
