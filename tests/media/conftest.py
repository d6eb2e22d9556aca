"""Fixtures for the media tests: nodes with users + media on loopback, and real files made here
with libvips (photos with EXIF GPS, transparent PNGs, animations) or by hand (bombs, lies)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pyvips
from cryb_plugins.media.service import MEDIA, MediaService

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import make_config
from tests.users_fixtures import FAST_HASHING

S = pyvips.GValue.gstr_type


def media_config(data_dir: Path, **media: Any):
    return make_config(data_dir, plugin={"users": FAST_HASHING, "media": media})


@pytest.fixture
def start(aiohttp_client, tmp_path, clock):
    """start(**media_settings) -> a test client of a fresh node on the test's `clock`."""

    async def go(**media: Any):
        return await aiohttp_client(build_app(media_config(tmp_path / "data", **media), clock=clock))

    return go


@pytest.fixture
async def client(start):
    return await start()


def service(client) -> MediaService:
    svc = client.app[NODE].services.require(MEDIA)
    assert svc is not None
    return svc


async def upload(client, token: str | None, data: bytes, filename: str = "file.bin", content_type: str = ""):
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type=content_type or "application/octet-stream")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/api/v1/media", data=form, headers=headers)


async def upload_ok(client, token: str, data: bytes, **kw: Any) -> dict:
    """Upload, then wait for the variants made after the answer (AVIF, a large photo's original):
    the media as GET /api/v1/media/{id} shows it once nothing is pending (test_pending.py tests
    the early answer itself)."""
    resp = await upload(client, token, data, **kw)
    body = await resp.json()
    assert resp.status == 201, body
    return await settled(client, token, body)


async def settled(client, token: str, body: dict, timeout_s: float = 60) -> dict:
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while body.get("pending"):
        assert time.monotonic() < deadline, f"variants still pending: {body['pending']}"
        await asyncio.sleep(0.02)
        resp = await client.get(f"/api/v1/media/{body['id']}", headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
    return body


def path_of(url: str) -> str:
    """The path and query of a variant URL (the tests fetch through the test client)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# -- files ---------------------------------------------------------------------------------------


def _colourful(width: int, height: int) -> pyvips.Image:
    x = pyvips.Image.xyz(width, height)
    r = (x[0] * 255 / max(1, width - 1)).cast("uchar")
    g = (x[1] * 255 / max(1, height - 1)).cast("uchar")
    b = ((x[0] + x[1]) % 256).cast("uchar")
    return r.bandjoin([g, b]).copy(interpretation="srgb")


def jpeg_with_gps(width: int = 400, height: int = 200, orientation: int = 6) -> bytes:
    """A JPEG carrying camera EXIF: GPS position, maker, and an orientation tag."""
    img = _colourful(width, height).copy()
    img.set_type(S, "exif-ifd0-Make", "CrybCam")
    img.set_type(S, "exif-ifd3-GPSLatitudeRef", "N")
    img.set_type(S, "exif-ifd3-GPSLatitude", "52/1 31/1 12/1")
    img.set_type(S, "exif-ifd3-GPSLongitudeRef", "E")
    img.set_type(S, "exif-ifd3-GPSLongitude", "13/1 24/1 36/1")
    img.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    data = img.jpegsave_buffer(Q=90)
    back = pyvips.Image.new_from_buffer(data, "")
    assert back.get("exif-ifd3-GPSLatitude").startswith("52/1")  # the fixture really has GPS
    return data


def png_with_alpha(width: int = 300, height: int = 300) -> bytes:
    img = _colourful(width, height)
    alpha = (pyvips.Image.xyz(width, height)[0] < width // 2).ifthenelse(255, 0).cast("uchar")
    return img.bandjoin(alpha).copy(interpretation="srgb").pngsave_buffer()


def animated(fmt: str, frames: int = 3, width: int = 120, height: int = 80) -> bytes:
    pages = [(_colourful(width, height) + i * 70).cast("uchar") for i in range(frames)]
    strip = pyvips.Image.arrayjoin(pages, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100] * frames)
    return strip.gifsave_buffer() if fmt == "gif" else strip.webpsave_buffer()


def webp_still(width: int = 500, height: int = 240) -> bytes:
    return _colourful(width, height).webpsave_buffer(Q=80)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG declaring width x height 1-bit pixels in a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + width // 8) * 16, 9)  # the first rows; the rest "follow"
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def mp3_like(size: int = 50_000) -> bytes:
    """An ID3-tagged stream (stored as uploaded: audio is not decoded by the node)."""
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(i % 251 for i in range(size - 10))


def metadata_fields(data: bytes) -> list[str]:
    """Metadata libvips finds in an encoded image: EXIF (any IFD, GPS is ifd3), XMP, IPTC."""
    img = pyvips.Image.new_from_buffer(data, "")
    return [f for f in img.get_fields() if f.startswith(("exif", "xmp", "iptc", "gps"))]
