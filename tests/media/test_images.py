"""Acceptance 1: real images (JPEG with EXIF GPS, PNG, animated GIF, WebP) become clean variants."""

from __future__ import annotations

import re

import pyvips

from tests.users_fixtures import register_user

from .conftest import (
    animated,
    jpeg_with_gps,
    metadata_fields,
    path_of,
    png_with_alpha,
    service,
    upload_ok,
    webp_still,
)

BLURHASH = re.compile(r"^[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{28}$")  # 4x3 components


async def fetch_all(client, body: dict) -> dict[str, bytes]:
    out = {}
    for v in body["variants"]:
        resp = await client.get(path_of(v["url"]))
        assert resp.status == 200, (v["name"], await resp.text())
        assert resp.headers["Content-Type"] == v["mime"]
        data = await resp.read()
        assert len(data) == v["size"]
        out[v["name"]] = data
    return out


async def test_jpeg_gps_is_stripped_from_every_variant_and_orientation_applied(client):
    _, token = await register_user(client)
    body = await upload_ok(client, token, jpeg_with_gps(400, 200, orientation=6), filename="beach.jpg")
    assert (body["kind"], body["mime"]) == ("image", "image/jpeg")
    # Orientation 6 (rotate 90) is applied to the pixels: 400x200 becomes 200x400.
    assert (body["width"], body["height"]) == (200, 400)
    names = {v["name"] for v in body["variants"]}
    assert {"original", "webp", "thumb_160", "thumb_320"} <= names
    assert "thumb_640" not in names  # never upscaled
    if service(client).avif:
        assert "avif" in names
    files = await fetch_all(client, body)
    for name, data in files.items():
        assert metadata_fields(data) == [], name
        img = pyvips.Image.new_from_buffer(data, "")
        assert img.height > img.width, name  # every variant is upright
    # The files at rest, read straight from storage, are just as clean.
    stored = list((service(client).root / "blobs").rglob("*"))
    blobs = [p for p in stored if p.is_file()]
    assert len(blobs) == len(files)
    for path in blobs:
        assert metadata_fields(path.read_bytes()) == [], path
        assert b"GPS" not in path.read_bytes() and b"CrybCam" not in path.read_bytes()
    thumbs = {v["name"]: v for v in body["variants"]}
    assert max(thumbs["thumb_160"]["width"], thumbs["thumb_160"]["height"]) == 160
    assert BLURHASH.match(body["placeholder"]) and re.match(r"^#[0-9a-f]{6}$", body["dominant_color"])


async def test_png_keeps_transparency_and_is_served_as_png(client):
    _, token = await register_user(client)
    body = await upload_ok(client, token, png_with_alpha(300, 300), filename="logo.png")
    assert (body["mime"], body["width"], body["height"]) == ("image/png", 300, 300)
    files = await fetch_all(client, body)
    assert pyvips.Image.new_from_buffer(files["original"], "").bands == 4
    assert pyvips.Image.new_from_buffer(files["webp"], "").hasalpha()
    assert all(metadata_fields(d) == [] for d in files.values())


async def test_animated_gif_stays_animated_in_every_variant(start):
    client = await start(thumbnail_sizes=[64])
    _, token = await register_user(client)
    body = await upload_ok(client, token, animated("gif", frames=3), filename="wave.gif")
    assert (body["mime"], body["frames"], body["width"], body["height"]) == ("image/gif", 3, 120, 80)
    files = await fetch_all(client, body)
    assert set(files) == {"original", "webp", "thumb_64"}  # no AVIF: libvips writes stills only
    for name, data in files.items():
        img = pyvips.Image.new_from_buffer(data, "", n=-1)
        assert img.get("n-pages") == 3, name
        assert metadata_fields(data) == [], name
    thumb = pyvips.Image.new_from_buffer(files["thumb_64"], "", n=-1)
    assert (thumb.width, thumb.get("page-height")) == (64, 43)


async def test_animated_webp_is_accepted_as_animation(start):
    client = await start(thumbnail_sizes=[64])
    _, token = await register_user(client)
    body = await upload_ok(client, token, animated("webp", frames=4), filename="spin.webp")
    assert (body["mime"], body["frames"]) == ("image/webp", 4)
    files = await fetch_all(client, body)
    assert pyvips.Image.new_from_buffer(files["original"], "", n=-1).get("n-pages") == 4


async def test_still_webp_gets_variants_and_placeholder(client):
    _, token = await register_user(client)
    body = await upload_ok(client, token, webp_still(500, 240), filename="banner.webp")
    assert (body["mime"], body["width"], body["height"], body["frames"]) == ("image/webp", 500, 240, None)
    files = await fetch_all(client, body)
    # The original is already WebP at display size, so no second WebP is made.
    assert "webp" not in files and {"original", "thumb_160", "thumb_320"} <= set(files)
    assert BLURHASH.match(body["placeholder"])


async def test_type_comes_from_the_bytes_not_the_name_or_content_type(client):
    _, token = await register_user(client)
    body = await upload_ok(
        client, token, png_with_alpha(40, 40), filename="holiday.jpg", content_type="image/jpeg"
    )
    assert body["mime"] == "image/png"
    original = next(v for v in body["variants"] if v["name"] == "original")
    assert original["mime"] == "image/png" and "/original?exp=" in original["url"]


async def test_the_same_bytes_are_stored_once(client):
    _, alice = await register_user(client)
    _, bob = await register_user(client)
    photo = jpeg_with_gps(300, 300, orientation=1)
    first = await upload_ok(client, alice, photo)
    blobs = lambda: sorted(p.name for p in (service(client).root / "blobs").rglob("*") if p.is_file())  # noqa: E731
    before = blobs()
    second = await upload_ok(client, bob, photo)
    assert first["id"] != second["id"]
    assert blobs() == before  # nothing new stored
    etags = []
    for body in (first, second):
        resp = await client.get(path_of(body["variants"][0]["url"]))
        etags.append(resp.headers["ETag"])
    assert etags[0] == etags[1]
