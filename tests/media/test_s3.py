"""Acceptance 4: the S3 backend against an S3-compatible server on loopback (moto's server mode,
a separate process): upload, serve (with Range), delete, cleanup."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from cryb_plugins.media import gc

from tests.conftest import free_port
from tests.users_fixtures import auth, register_user

from .conftest import jpeg_with_gps, mp3_like, path_of, service, upload_ok

KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def bucket_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def bucket(s3_endpoint) -> str:
    name = f"cryb-media-{time.monotonic_ns()}"
    bucket_client(s3_endpoint).create_bucket(Bucket=name)
    return name


def stored_keys(endpoint: str, bucket: str) -> set[str]:
    page = bucket_client(endpoint).list_objects_v2(Bucket=bucket)
    return {o["Key"] for o in page.get("Contents", [])}


async def test_s3_backend_upload_serve_delete_gc(start, s3_endpoint, bucket):
    client = await start(
        storage="s3", blob_grace_s=0, s3={"bucket": bucket, "endpoint": s3_endpoint, "prefix": "m/", **KEYS}
    )
    assert service(client).storage.name == "s3"
    _, token = await register_user(client)
    photo = await upload_ok(client, token, jpeg_with_gps(300, 200, orientation=1))
    song_bytes = mp3_like(40_000)
    song = await upload_ok(client, token, song_bytes, filename="a.mp3")
    keys = stored_keys(s3_endpoint, bucket)
    etags = set()
    for body in (photo, song):
        for v in body["variants"]:
            resp = await client.get(path_of(v["url"]))
            assert resp.status == 200 and resp.headers["Content-Type"] == v["mime"]
            assert len(await resp.read()) == v["size"]
            etags.add(resp.headers["ETag"].strip('"'))
    assert keys == {f"m/{e}" for e in etags}  # one object per distinct variant, named by its sha256
    # Range through the S3 backend.
    url = path_of(song["variants"][0]["url"])
    resp = await client.get(url, headers={"Range": "bytes=1000-1999"})
    assert resp.status == 206 and await resp.read() == song_bytes[1000:2000]

    # Deleting the photo leaves its blobs for the grace period; the cleanup removes them.
    assert (await client.delete(f"/api/v1/media/{photo['id']}", headers=auth(token))).status == 204
    assert stored_keys(s3_endpoint, bucket) == keys
    out = await gc.collect(service(client))
    assert out.blobs_deleted == len(photo["variants"])
    song_sha = resp.headers["ETag"].strip('"')
    assert stored_keys(s3_endpoint, bucket) == {f"m/{song_sha}"}
    assert (await client.get(url)).status == 200


async def test_s3_stray_objects_are_removed_and_duplicates_stored_once(start, s3_endpoint, bucket, tmp_path):
    client = await start(storage="s3", s3={"bucket": bucket, "endpoint": s3_endpoint, **KEYS})
    _, alice = await register_user(client)
    _, bob = await register_user(client)
    data = mp3_like(5000)
    await upload_ok(client, alice, data)
    await upload_ok(client, bob, data)
    assert len(stored_keys(s3_endpoint, bucket)) == 1
    stray = tmp_path / "stray"
    stray.write_bytes(b"left over by a crash")
    await service(client).storage.put("ab" * 32, stray, "application/octet-stream")
    assert len(stored_keys(s3_endpoint, bucket)) == 2
    out = await gc.collect(service(client))
    assert out.blobs_deleted == 1 and len(stored_keys(s3_endpoint, bucket)) == 1
