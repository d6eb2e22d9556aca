"""Video posters: the first frame, taken by ffmpeg when the node finds one at start (optional)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
TIMEOUT_S = 30.0


def find_ffmpeg(configured: str) -> str | None:
    return shutil.which(configured or "ffmpeg")


async def poster(ffmpeg: str, src: Path, work: Path) -> Path | None:
    """A JPEG of the video's first frame (None if ffmpeg fails or takes too long)."""
    out = work / "poster.jpg"
    proc = await asyncio.create_subprocess_exec(
        ffmpeg, "-nostdin", "-v", "error", "-i", str(src), "-frames:v", "1", "-an", "-sn",
        "-f", "image2", "-c:v", "mjpeg", "-y", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        log.warning("media: ffmpeg took longer than %ss for a poster frame", TIMEOUT_S)
        return None
    if proc.returncode != 0 or not out.exists():
        log.warning("media: ffmpeg found no poster frame: %s", err.decode(errors="replace")[:300])
        return None
    return out
