"""Take-downs and storage: with the S3 backend the objects go from the bucket (moto's server on
loopback); a file storage fails to delete is reported as pending and removed by the cleanup job;
an upload being processed when its bytes are taken down is refused when it is recorded; media
backups made after a take-down do not carry its files."""

from __future__ import annotations

import asyncio
import hashlib

from cryb_plugins.media import gc

from cryb_node.backup import blobs
from cryb_node.config import ReplicationSection
from tests.users_fixtures import register_user

from .conftest import jpeg_with_gps, mp3_like, service, settled, upload, upload_ok
from .test_admin_takedown import blob_files, call, fetch, make_admin, rows, url_of
from .test_s3 import KEYS, bucket, s3_endpoint, stored_keys  # noqa: F401 (fixtures)


async def test_a_take_down_deletes_the_objects_from_s3(start, s3_endpoint, bucket):  # noqa: F811
    client = await start(storage="s3", s3={"bucket": bucket, "endpoint": s3_endpoint, "prefix": "m/", **KEYS})
    _, admin = await make_admin(client)
    _, alice = await register_user(client)
    # every variant stored (AVIF comes after the answer) before the bucket is counted
    photo = await settled(
        client, alice, await upload_ok(client, alice, jpeg_with_gps(300, 200, orientation=1))
    )
    song = await upload_ok(client, alice, mp3_like(3000))
    before = stored_keys(s3_endpoint, bucket)
    assert len(before) == len(photo["variants"]) + 1
    status, out = await call(client, "POST", f"/api/v1/admin/media/{photo['id']}/takedown", admin,
                             {"reason": "abuse"})  # fmt: skip
    assert status == 200 and (out["blobs_deleted"], out["blobs_pending"]) == (len(photo["variants"]), 0)
    assert stored_keys(s3_endpoint, bucket) == {f"m/{hashlib.sha256(mp3_like(3000)).hexdigest()}"}
    for v in photo["variants"]:
        assert (await fetch(client, v["url"], alice))[0] == 404
    assert (await fetch(client, url_of(song), alice))[0] == 200
    resp = await upload(client, alice, jpeg_with_gps(300, 200, orientation=1))
    assert resp.status == 422 and (await resp.json())["code"] == "media_blocked"


async def test_a_file_storage_cannot_delete_is_pending_and_the_cleanup_job_removes_it(client):
    _, admin = await make_admin(client)
    _, alice = await register_user(client)
    data = mp3_like(3500)
    song = await upload_ok(client, alice, data)
    key = hashlib.sha256(data).hexdigest()
    path = service(client).storage.path(key)  # type: ignore[attr-defined]
    # The file cannot be unlinked (a directory where it was): the delete fails as a broken disk would.
    path.unlink()
    path.mkdir()
    (path / "x").write_bytes(data)
    status, out = await call(client, "POST", f"/api/v1/admin/media/{song['id']}/takedown", admin,
                             {"reason": "abuse"})  # fmt: skip
    assert status == 200 and (out["blobs_deleted"], out["blobs_pending"]) == (0, 1)
    assert (await fetch(client, url_of(song), alice))[0] == 404  # gone for everyone all the same
    assert await rows(client, "SELECT count(*) FROM media_blobs") == [(0,)]
    # Storage works again: the file (no row refers to it) is a stray for the cleanup job.
    (path / "x").unlink()
    path.rmdir()
    path.write_bytes(data)
    done = await gc.collect(service(client))
    assert done.blobs_deleted == 1 and blob_files(client) == set()


async def test_an_upload_being_processed_when_its_bytes_are_taken_down_is_refused(client):
    _, admin = await make_admin(client)
    _, alice = await register_user(client)
    photo = jpeg_with_gps(300, 200, orientation=1)
    svc = service(client)
    process = svc._process
    taken = asyncio.Event()

    async def slow_process(got, work):
        # The bytes were checked against the block list when they arrived; an admin blocks them now.
        status, _ = await call(client, "POST", "/api/v1/admin/media/takedown", admin,
                               {"sha256": got.sha256, "reason": "abuse"})  # fmt: skip
        assert status == 200
        taken.set()
        return await process(got, work)

    svc._process = slow_process  # type: ignore[method-assign]
    resp = await upload(client, alice, photo)
    assert taken.is_set()
    assert resp.status == 422 and (await resp.json())["code"] == "media_blocked"
    assert await rows(client, "SELECT count(*) FROM media") == [(0,)]
    assert blob_files(client) == set()


async def test_media_backups_made_after_a_take_down_do_not_carry_it(client, tmp_path):
    _, admin = await make_admin(client)
    _, alice = await register_user(client)
    gone = await upload_ok(client, alice, mp3_like(3700))
    kept = await upload_ok(client, alice, mp3_like(3800))
    status, _ = await call(client, "POST", f"/api/v1/admin/media/{gone['id']}/takedown", admin,
                           {"reason": "abuse"})  # fmt: skip
    assert status == 200
    target = tmp_path / "replica"
    cfg = ReplicationSection(enabled=True, type="file", path=str(target))
    pushed = await asyncio.to_thread(blobs.push, cfg, service(client).storage.root)  # type: ignore[attr-defined]
    assert pushed.copied == 1
    assert set(blobs.local_keys(target / "media")) == {hashlib.sha256(mp3_like(3800)).hexdigest()}
    assert (await fetch(client, url_of(kept), alice))[0] == 200
