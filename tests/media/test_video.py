"""Video and audio are stored exactly as uploaded and served with Range; a video gets a poster
frame when ffmpeg is installed (optional: detected at start)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import pyvips

from tests.users_fixtures import register_user

from .conftest import metadata_fields, path_of, service, upload_ok

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def make_mp4(tmp_path) -> bytes:
    out = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "1",
         "-pix_fmt", "yuv420p", "-c:v", "mpeg4", "-y", str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


@needs_ffmpeg
async def test_video_is_stored_as_uploaded_with_a_poster_frame(client, tmp_path):
    assert service(client).ffmpeg
    _, token = await register_user(client)
    clip = make_mp4(tmp_path)
    body = await upload_ok(client, token, clip, filename="clip.mp4")
    assert (body["kind"], body["mime"], body["width"], body["height"]) == ("video", "video/mp4", 160, 120)
    variants = {v["name"]: v for v in body["variants"]}
    assert set(variants) == {"original", "poster"}
    resp = await client.get(path_of(variants["original"]["url"]))
    assert await resp.read() == clip
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    resp = await client.get(path_of(variants["original"]["url"]), headers={"Range": "bytes=0-99"})
    assert resp.status == 206 and await resp.read() == clip[:100]
    poster = await (await client.get(path_of(variants["poster"]["url"]))).read()
    img = pyvips.Image.new_from_buffer(poster, "")
    assert (img.width, img.height) == (160, 120) and metadata_fields(poster) == []


async def test_without_ffmpeg_a_video_has_no_poster(start, tmp_path):
    client = await start(ffmpeg="/nonexistent/ffmpeg")
    assert service(client).ffmpeg is None
    _, token = await register_user(client)
    # An MP4 header (ftyp isom) is enough: video is not decoded without ffmpeg.
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(2000)
    body = await upload_ok(client, token, data, filename="v.mp4")
    assert (body["kind"], body["mime"]) == ("video", "video/mp4")
    assert [v["name"] for v in body["variants"]] == ["original"]
