"""Issue 24: an upload is answered once its thumbnails and display-size WebP exist; AVIF and a large
photo's full-size original are made afterwards from a durable to-do (plugins/media/pending.py).

The finisher is stopped where a test needs the moment between the answer and the slow variants:
the database and the waiting bytes are then exactly what a crash right after the answer leaves."""

from __future__ import annotations

import asyncio
import time

import pyvips
from cryb_plugins.media import gc, pending

from cryb_node.app import build_app
from tests.support.waiting import eventually
from tests.users_fixtures import register_user

from .conftest import jpeg_with_gps, media_config, metadata_fields, path_of, service, settled, upload

# A 600x400 photo is "large" under a 256 px display size: its original is made afterwards too.
SMALL_DISPLAY = {"display_max_px": 256, "thumbnail_sizes": [64]}


def names(body: dict) -> set[str]:
    return {v["name"] for v in body["variants"]}


async def held(start):
    """A node with a small display size and a member, its finisher stopped: what an upload leaves
    pending stays so until the test starts it (client, media service, the member's token)."""
    client = await start(**SMALL_DISPLAY)
    media = service(client)
    _, token = await register_user(client)
    await media.finisher.stop()
    return client, media, token


async def answered(client, token: str, data: bytes) -> dict:
    resp = await upload(client, token, data, filename="photo.jpg")
    body = await resp.json()
    assert resp.status == 201, body
    return body


async def test_upload_is_answered_before_avif_and_the_original_then_they_appear(start):
    client, media, token = await held(start)
    body = await answered(client, token, jpeg_with_gps(600, 400, orientation=6))
    later = ["avif", "original"] if media.avif else ["original"]
    assert body["pending"] == later
    assert names(body) == {"webp", "thumb_64"}
    assert (body["width"], body["height"]) == (400, 600)  # upright before the original exists
    assert body["placeholder"] and body["dominant_color"]

    # Meanwhile the original's URL serves the display WebP, and no cache may keep it.
    resp = await client.get(path_of(media.signed_url(body["id"], "original")))
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/webp"
    assert resp.headers["Cache-Control"] == "no-cache"

    await media.finisher.start()
    done = await settled(client, token, body)
    assert done["pending"] == [] and names(done) == {"webp", "thumb_64", *later}
    variants = {v["name"]: v for v in done["variants"]}
    assert (variants["original"]["width"], variants["original"]["height"]) == (400, 600)
    for v in done["variants"]:
        resp = await client.get(path_of(v["url"]))
        assert resp.status == 200 and resp.headers["Content-Type"] == v["mime"]
        data = await resp.read()
        assert metadata_fields(data) == [] and b"CrybCam" not in data, v["name"]
        img = pyvips.Image.new_from_buffer(data, "")
        assert img.height > img.width, v["name"]
    # the waiting bytes (with their GPS) are gone, deleted a moment after the commit GET saw
    await eventually(lambda: list(media.finisher.dir.iterdir()) == [])


async def test_a_restart_between_the_answer_and_the_slow_variants_finishes_them(aiohttp_client, tmp_path):
    config = media_config(tmp_path / "data", **SMALL_DISPLAY)
    first = await aiohttp_client(build_app(config))
    _, token = await register_user(first)
    await service(first).finisher.stop()
    body = await answered(first, token, jpeg_with_gps(600, 400, orientation=1))
    assert "original" in body["pending"]
    await first.close()

    second = await aiohttp_client(build_app(config))
    done = await settled(second, token, body)
    assert "original" in names(done) and done["pending"] == []
    # counted once its write is answered, a moment after the GET above can see the commit
    await eventually(lambda: service(second).finisher.finished == 1)
    await eventually(lambda: list(service(second).finisher.dir.iterdir()) == [])


async def test_a_repeat_upload_of_bytes_still_pending_gets_the_variants_too(start):
    client, media, token = await held(start)
    photo = jpeg_with_gps(600, 400, orientation=1)
    first = await answered(client, token, photo)
    second = await answered(client, token, photo)  # shares the first one's files
    assert second["pending"] == first["pending"] and "original" in second["pending"]
    await media.finisher.start()
    a, b = await settled(client, token, first), await settled(client, token, second)
    shas = await media.node.db.fetchall(
        "SELECT media_id, name, sha256 FROM media_variants WHERE media_id IN (?, ?)", (a["id"], b["id"])
    )
    by_media: dict[str, dict[str, str]] = {}
    for row in shas:
        by_media.setdefault(row[0], {})[row[1]] = row[2]
    assert by_media[a["id"]] == by_media[b["id"]] and "original" in by_media[a["id"]]


async def test_media_deleted_before_its_variants_are_made_leaves_nothing_behind(start):
    client, media, token = await held(start)
    body = await answered(client, token, jpeg_with_gps(600, 400, orientation=1))
    resp = await client.delete(f"/api/v1/media/{body['id']}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status in (200, 204), await resp.text()
    assert await media.node.db.fetchone("SELECT 1 FROM media_pending") is None
    await media.finisher.stop()
    await media.finisher.start()  # its start sweeps bytes no row waits for
    await eventually(lambda: list(media.finisher.dir.iterdir()) == [])
    assert await media.node.db.fetchone("SELECT 1 FROM media_variants WHERE name = 'original'") is None


async def test_a_large_photos_larger_thumbnails_come_after_the_answer(start):
    client = await start(display_max_px=1024, thumbnail_sizes=[64, 800], avif=False)
    media = service(client)
    _, token = await register_user(client)
    await media.finisher.stop()
    body = await answered(client, token, jpeg_with_gps(2000, 1000, orientation=1))
    assert body["pending"] == ["original", "thumb_800"] and names(body) == {"webp", "thumb_64"}
    await media.finisher.start()
    done = {v["name"]: v for v in (await settled(client, token, body))["variants"]}
    assert (done["thumb_800"]["width"], done["thumb_800"]["height"]) == (800, 400)
    assert (done["original"]["width"], done["original"]["height"]) == (2000, 1000)


async def test_media_deleted_while_its_variants_are_being_made_keeps_none_of_them(start):
    client, media, token = await held(start)
    body = await answered(client, token, jpeg_with_gps(600, 400, orientation=1))
    blobs_before = {p.name for p in (media.root / "blobs").rglob("*") if p.is_file()}
    # The member deletes it after the variants are made and stored, before they are recorded.
    put = media.storage.put

    async def put_then_delete(key, src, mime):
        await put(key, src, mime)
        if await media.node.db.fetchone("SELECT 1 FROM media WHERE id = ?", (body["id"],)):
            resp = await client.delete(
                f"/api/v1/media/{body['id']}", headers={"Authorization": f"Bearer {token}"}
            )
            assert resp.status in (200, 204)

    media.storage.put = put_then_delete  # type: ignore[method-assign]
    await media.finisher.start()
    for _ in range(500):
        if media.finisher.finished:
            break
        await asyncio.sleep(0.02)
    assert media.finisher.finished == 1
    assert (
        await media.node.db.fetchone("SELECT 1 FROM media_variants WHERE media_id = ?", (body["id"],)) is None
    )
    # What was made is orphaned like any deleted upload's files: gone after the grace period.
    await gc.collect(media, now=int(time.time() * 1000) + int(media.settings.blob_grace_s * 1000) + 1000)
    assert {p.name for p in (media.root / "blobs").rglob("*") if p.is_file()} <= blobs_before
    await eventually(lambda: list(media.finisher.dir.iterdir()) == [])


async def test_bytes_that_cannot_be_finished_are_given_up_after_spaced_tries(start, monkeypatch, caplog):
    monkeypatch.setattr(pending, "RETRY_S", 0.05)
    client, media, token = await held(start)
    body = await answered(client, token, jpeg_with_gps(600, 400, orientation=1))
    waiting = media.finisher.path(body["id"])
    waiting.write_bytes(waiting.read_bytes()[:2000])  # the waiting copy got damaged on disk
    began = time.monotonic()
    await media.finisher.start()
    done = await settled(client, token, body)  # not pending for ever
    assert time.monotonic() - began >= 0.35  # 0.05 + 0.1 + 0.2 s between the four tries
    assert names(done) == {"webp", "thumb_64"}
    await eventually(lambda: not waiting.exists())
    row = await media.node.db.fetchone("SELECT 1 FROM media_pending")
    assert row is None
    failed = [r for r in caplog.records if "making the pending variants" in r.getMessage()]
    assert len(failed) == pending.MAX_ATTEMPTS
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and body["id"] in gave_up[0].getMessage()


async def test_the_uploaders_sessions_hear_when_the_pending_variants_exist(start):
    import json

    import websockets

    client = await start(**SMALL_DISPLAY)
    media = service(client)
    _, token = await register_user(client)
    ws = await websockets.connect(f"ws://127.0.0.1:{client.server.port}/gateway")
    try:
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "HELLO"
        await ws.send(json.dumps({"op": "IDENTIFY", "d": {"token": token}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["op"] == "READY"
        await media.finisher.stop()
        body = await answered(client, token, jpeg_with_gps(600, 400, orientation=1))
        await media.finisher.start()
        async with asyncio.timeout(30):
            while True:
                frame = json.loads(await ws.recv())
                if frame["op"] == "DISPATCH" and frame["t"] == "MEDIA_UPDATE":
                    break
        update = frame["d"]
        assert update["id"] == body["id"] and update["pending"] == [] and "original" in names(update)
    finally:
        await ws.close()


async def test_the_cleanup_job_running_while_variants_are_stored_loses_none_of_them(start):
    client = await start(blob_grace_s=0, **SMALL_DISPLAY)
    media = service(client)
    _, token = await register_user(client)
    await media.finisher.stop()
    body = await answered(client, token, jpeg_with_gps(600, 400, orientation=1))
    put = media.storage.put

    async def put_then_collect(key, src, mime):  # the cleanup job's turn comes right after each store
        await put(key, src, mime)
        await gc.collect(media)

    media.storage.put = put_then_collect  # type: ignore[method-assign]
    await media.finisher.start()
    done = await settled(client, token, body)
    media.storage.put = put  # type: ignore[method-assign]
    assert "original" in names(done)
    for v in done["variants"]:
        resp = await client.get(path_of(v["url"]))
        assert resp.status == 200, (v["name"], await resp.text())
        assert len(await resp.read()) == v["size"]


async def test_a_passing_fault_is_tried_again_later_and_the_variants_still_come(start, monkeypatch):
    """The waiting bytes cannot be read for a moment (as an object store that timed out): the row
    is tried again after a pause, not three times in a row and given up."""
    monkeypatch.setattr(pending, "RETRY_S", 0.2)
    client, media, token = await held(start)
    photo = jpeg_with_gps(600, 400, orientation=1)
    body = await answered(client, token, photo)
    waiting = media.finisher.path(body["id"])
    waiting.unlink()  # the same inode stays with nobody else: put unreadable bytes in its place
    waiting.write_bytes(b"not an image at all")
    await media.finisher.start()
    attempts = "SELECT attempts FROM media_pending WHERE media_id = ?"
    for _ in range(500):
        if await media.node.db.fetchval(attempts, (body["id"],), 0) >= 1:
            break
        await asyncio.sleep(0.01)
    assert await media.node.db.fetchval(attempts, (body["id"],), 0) == 1  # failed once, waiting
    waiting.write_bytes(photo)  # the fault passes
    done = await settled(client, token, body)
    assert "original" in names(done) and done["pending"] == []
    await eventually(lambda: not waiting.exists())
