"""The cleanup job and the `cryb media` commands: orphaned uploads and unreferenced blobs go,
attached and shared files stay."""

from __future__ import annotations

import json
import time

from cryb_plugins.media import gc

from cryb_node.appkeys import NODE
from tests.conftest import run_cryb, write_config
from tests.users_fixtures import register_user

from .conftest import mp3_like, path_of, service, upload_ok

HOUR_MS = 3_600_000


def blob_files(client) -> set[str]:
    return {p.name for p in (service(client).root / "blobs").rglob("*") if p.is_file()}


async def test_orphans_expire_and_their_files_go_after_the_grace_period(start, clock):
    client = await start(orphan_ttl_s=3600, blob_grace_s=3600)
    owner_id, token = await register_user(client)
    orphan = await upload_ok(client, token, mp3_like(3000))
    kept = await upload_ok(client, token, mp3_like(4000))
    await service(client).attach(kept["id"], owner_id, None)
    svc = service(client)

    out = await gc.collect(svc)  # nothing is old enough yet
    assert (out.media_deleted, out.blobs_deleted) == (0, 0)
    clock.advance(2 * 3600)
    out = await gc.collect(svc)  # the orphan expires; its blob is in grace
    assert (out.media_deleted, out.blobs_deleted) == (1, 0)
    assert len(blob_files(client)) == 2
    assert (await client.get(path_of(orphan["variants"][0]["url"]))).status == 404
    clock.advance(2 * 3600)
    out = await gc.collect(svc)
    assert (out.media_deleted, out.blobs_deleted, out.bytes_freed) == (0, 1, 3000)
    assert len(blob_files(client)) == 1
    assert (await client.get(f"/media/{kept['id']}/original")).status == 200


async def test_a_blob_shared_by_two_uploads_stays_while_either_uses_it(start):
    client = await start(orphan_ttl_s=60, blob_grace_s=0)
    alice_id, alice = await register_user(client)
    _, bob = await register_user(client)
    data = mp3_like(2000)
    first = await upload_ok(client, alice, data)
    await upload_ok(client, bob, data)  # bob never attaches his: it becomes an orphan
    await service(client).attach(first["id"], alice_id, None)
    out = await gc.collect(service(client), now=int(time.time() * 1000) + HOUR_MS)
    assert (out.media_deleted, out.blobs_deleted) == (1, 0)
    assert len(blob_files(client)) == 1
    assert (await client.get(f"/media/{first['id']}/original")).status == 200


async def test_cleanup_is_a_scheduled_job(client):
    assert "media.gc" in {j.name for j in client.app[NODE].scheduler._jobs}


async def test_cli_stats_and_gc(start, tmp_path):
    client = await start(orphan_ttl_s=1, blob_grace_s=0)
    _, token = await register_user(client)
    await upload_ok(client, token, mp3_like(1234))
    data = tmp_path / "data"
    cfg = write_config(
        tmp_path / "cryb.toml",
        '[log]\nlevel = "WARNING"\n[plugin.media]\norphan_ttl_s = 1\nblob_grace_s = 0\n',
    )
    result = run_cryb("--config", str(cfg), "--data", str(data), "media", "stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert (stats["media"], stats["unattached"], stats["uploaded_bytes"], stats["blobs"]) == (1, 1, 1234, 1)
    assert stats["by_kind"] == {"audio": 1} and stats["backend"] == "local"
    time.sleep(1.1)
    result = run_cryb("--config", str(cfg), "--data", str(data), "media", "gc", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["media_deleted"], out["blobs_deleted"], out["bytes_freed"]) == (1, 1, 1234)
    assert blob_files(client) == set()
    text = run_cryb("--config", str(cfg), "--data", str(data), "media", "stats")
    assert text.returncode == 0 and "media                0" in text.stdout
