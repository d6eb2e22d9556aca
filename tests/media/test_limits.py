"""Acceptance 2: bombs, lies and oversized uploads are refused with 4xx, early, leaving nothing."""

from __future__ import annotations

import os

import aiohttp
import pytest

from cryb_node.appkeys import NODE
from tests.users_fixtures import register_user

from .conftest import jpeg_with_gps, mp3_like, png_bomb, service, upload, upload_ok

KIB = 1024


async def nothing_kept(client) -> None:
    svc = service(client)
    assert await client.app[NODE].db.fetchval("SELECT count(*) FROM media") == 0
    assert await client.app[NODE].db.fetchval("SELECT count(*) FROM media_blobs") == 0
    assert [p for p in (svc.root / "blobs").rglob("*") if p.is_file()] == []
    assert list(svc.tmp.iterdir()) == []


async def test_decompression_bomb_png_is_refused_before_decoding(client):
    _, token = await register_user(client)
    bomb = png_bomb(100_000, 100_000)
    assert len(bomb) < 2_000  # ten billion pixels in a couple of kilobytes
    resp = await upload(client, token, bomb, filename="bomb.png")
    body = await resp.json()
    assert resp.status == 422 and body["code"] == "too_many_pixels" and body["field"] == "file"
    await nothing_kept(client)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("text", b"just some text, not a picture at all" * 10),
        ("html", b"<!doctype html><script>alert(1)</script>" + b" " * 100),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' + b" " * 50),
        ("zip", b"PK\x03\x04" + os.urandom(300)),
        ("elf", b"\x7fELF\x02\x01\x01" + os.urandom(300)),
        ("pdf", b"%PDF-1.7\n" + os.urandom(300)),
    ],
    ids=["text", "html", "svg", "zip", "elf", "pdf"],  # random bytes make no stable id (pytest-xdist)
)
async def test_bytes_of_no_allowed_type_are_refused_whatever_the_name_says(client, name, data):
    _, token = await register_user(client)
    resp = await upload(client, token, data, filename="photo.jpg", content_type="image/jpeg")
    body = await resp.json()
    assert resp.status == 415, (name, body)
    assert body["code"] == "unsupported_media_type" and body["field"] == "file"
    await nothing_kept(client)


async def test_jpeg_signature_over_garbage_is_refused(client):
    _, token = await register_user(client)
    resp = await upload(client, token, b"\xff\xd8\xff\xe0" + os.urandom(5000), filename="x.jpg")
    assert resp.status in (415, 422), await resp.text()
    await nothing_kept(client)


def small_limits() -> dict:
    return {"image_max_bytes": 256 * KIB, "video_max_bytes": 256 * KIB, "audio_max_bytes": 256 * KIB}


def oversized(size: int) -> bytes:
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * (size - 10)


async def test_twice_the_limit_with_content_length_is_413_before_the_body_is_read(start):
    client = await start(**small_limits())
    _, token = await register_user(client)
    before = service(client).counter.bytes_read
    resp = await upload(client, token, oversized(512 * KIB), filename="big.mp3")
    body = await resp.json()
    assert resp.status == 413 and body["code"] == "payload_too_large"
    assert service(client).counter.bytes_read == before  # refused from the header alone
    await nothing_kept(client)


async def test_twice_the_limit_chunked_is_cut_off_at_the_limit(start):
    client = await start(**small_limits())
    _, token = await register_user(client)
    svc = service(client)
    payload = oversized(512 * KIB)
    boundary = "cryb-test-boundary"

    async def body():  # no Content-Length: the server must count as it reads
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp3"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n"
        ).encode()
        for i in range(0, len(payload), 16 * KIB):
            yield payload[i : i + 16 * KIB]
        yield f"\r\n--{boundary}--\r\n".encode()

    before = svc.counter.bytes_read
    resp = await client.post(
        "/api/v1/media",
        data=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert resp.status == 413 and (await resp.json())["code"] == "payload_too_large"
    read = svc.counter.bytes_read - before
    # It stopped within one read of the limit: half the upload was never taken in.
    assert 256 * KIB < read <= 256 * KIB + 64 * KIB
    await nothing_kept(client)


async def test_each_kind_has_its_own_limit(start):
    client = await start(image_max_bytes=20 * KIB, audio_max_bytes=200 * KIB, video_max_bytes=20 * KIB)
    _, token = await register_user(client)
    photo = jpeg_with_gps(600, 600, orientation=1)
    assert len(photo) > 20 * KIB
    resp = await upload(client, token, photo, filename="p.jpg")
    assert resp.status == 413 and "image" in (await resp.json())["detail"]
    await upload_ok(client, token, mp3_like(100 * KIB), filename="song.mp3")


async def test_quota_is_per_user(start):
    client = await start(user_quota_bytes=150 * KIB)
    _, alice = await register_user(client)
    _, bob = await register_user(client)
    await upload_ok(client, alice, mp3_like(100 * KIB))
    resp = await upload(client, alice, mp3_like(80 * KIB))
    body = await resp.json()
    assert resp.status == 413 and body["code"] == "quota_exceeded"
    await upload_ok(client, bob, mp3_like(80 * KIB))  # bob's quota is his own
    assert await client.app[NODE].db.fetchval("SELECT count(*) FROM media") == 2


@pytest.mark.parametrize(
    ("kind", "expect", "code"),
    [
        ("json", 400, "invalid_body"),
        ("other_field", 400, "invalid_field"),
        ("empty", 400, "invalid_field"),
    ],
)
async def test_malformed_uploads_are_400(client, kind, expect, code):
    _, token = await register_user(client)
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "json":
        resp = await client.post("/api/v1/media", json={"file": "x"}, headers=headers)
    else:
        form = aiohttp.FormData()
        name = "picture" if kind == "other_field" else "file"
        form.add_field(name, b"" if kind == "empty" else b"\xff\xd8\xff", filename="a.jpg")
        resp = await client.post("/api/v1/media", data=form, headers=headers)
    body = await resp.json()
    assert resp.status == expect and body["code"] == code, body
    await nothing_kept(client)


async def test_upload_needs_a_signed_in_user(client):
    resp = await upload(client, None, mp3_like(1000))
    assert resp.status == 401
