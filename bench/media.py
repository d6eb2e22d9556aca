"""`make bench` (media): thumbnail throughput and peak memory for a 12-megapixel JPEG.

Each measure runs in a fresh child process so its peak RSS (ru_maxrss) is its own. Rows:
  - reference: libvips' thumbnail() alone (one 320 px WebP), the floor any pipeline pays
  - the media plugin's full pipeline (cleaned original, display WebP + AVIF, 4 thumbnails, BlurHash)
  - the same without AVIF (AV1 encoding is the expensive part)
  - what an upload is answered with (display WebP, thumbnails, BlurHash; issue 24), and the rest
    made afterwards (AVIF, the cleaned full-size original, the 1280 px thumbnail)
  - a Python process with pyvips imported and nothing done (the memory baseline)
Then end to end over HTTP against a `cryb serve` child: POST /api/v1/media of the photo until its
201, and until GET /api/v1/media/{id} lists nothing pending, beside the node answering only once
every variant exists (defer_slow_variants = false) and the thumbnail() reference of the same run.
Prints medians over --runs with ratios to the reference measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import pyvips
pyvips.cache_set_max(0)
mode, src, n = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
from cryb_plugins.media import images
from cryb_plugins.media.detect import Detected
det = Detected("image", "image/jpeg", "jpg", "jpegload")
opts = images.Options(100_000_000, 1000, (160, 320, 640, 1280), 2048, 80, mode != "noavif", 55, 88)
times = []
for i in range(n):
    out = Path(tempfile.mkdtemp())
    t = time.perf_counter()
    if mode == "thumb":
        pyvips.Image.thumbnail(str(src), 320, height=320).webpsave(str(out / "t.webp"), keep="none")
    elif mode == "answer":
        images.process(src, det, out, opts, defer=True)
    elif mode == "rest":
        images.finish(src, det, out, opts, ["avif", "original", "thumb_1280"])
    elif mode != "idle":
        images.process(src, det, out, opts)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def make_photo(path: Path, width: int = 4000, height: int = 3000) -> None:
    """A 12 MP camera-like JPEG: smooth gradients plus sensor-like noise (so it compresses like a
    photo, not like a flat test card), with EXIF."""
    import pyvips

    x = pyvips.Image.xyz(width, height)
    base = (x[0] * 255 / width).bandjoin([x[1] * 255 / height, (x[0] + x[1]) * 128 / (width + height)])
    noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
    img = (base + noise).cast("uchar").copy(interpretation="srgb")
    img = img.copy()
    img.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "CrybCam")
    img.jpegsave(str(path), Q=90)


def run(mode: str, src: Path, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), mode, str(src), str(n)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--per-run", type=int, default=3, help="images per child process")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cryb-media-bench-") as tmp:
        src = Path(tmp) / "photo-12mp.jpg"
        make_photo(src)
        modes = ["thumb", "full", "noavif", "answer", "rest", "idle"]
        per: dict[str, list[float]] = {m: [] for m in modes}
        rss: dict[str, list[float]] = {m: [] for m in modes}
        for _ in range(args.runs):
            for mode in modes:  # interleaved, so drift in machine load hits every row alike
                got = run(mode, src, 1 if mode == "idle" else args.per_run)
                per[mode].append(statistics.median(got["times"]))
                rss[mode].append(got["rss_kb"] / 1024)
        size_mb = src.stat().st_size / 1e6
        http = asyncio.run(over_http(src, args.runs))
    med = {m: statistics.median(v) for m, v in per.items()}
    mem = {m: statistics.median(v) for m, v in rss.items()}
    print(
        f"\nCRYB media bench: 4000x3000 JPEG ({size_mb:.1f} MB), median of {args.runs} runs x "
        f"{args.per_run} images, {os.cpu_count()} cores, one image at a time\n"
    )
    print(f"| {'measure':<57} | {'images/s':>9} | {'ratio':>6} | {'peak RSS MiB':>12} | {'ratio':>6} |")
    print(f"|{'-' * 59}|{'-' * 11}|{'-' * 8}|{'-' * 14}|{'-' * 8}|")
    rows = [
        ("reference: pyvips thumbnail() alone, 320 px WebP", "thumb"),
        ("media pipeline: original, WebP, AVIF, 4 thumbs, BlurHash", "full"),
        ("media pipeline without AVIF", "noavif"),
        ("upload answer: display WebP, 3 thumbs, BlurHash", "answer"),
        ("after the answer: AVIF, cleaned original, 1280 thumb", "rest"),
        ("baseline: Python + pyvips imported, no work", "idle"),
    ]
    for name, mode in rows:
        rate = f"{1 / med[mode]:.2f}" if mode != "idle" else "-"
        ratio = f"{(1 / med[mode]) / (1 / med['thumb']):.2f}" if mode != "idle" else "-"
        print(
            f"| {name:<57} | {rate:>9} | {ratio:>6} | {mem[mode]:>12.0f} | {mem[mode] / mem['thumb']:>6.2f} |"
        )

    print(f"\nUpload of the same photo over HTTP to a `cryb serve` child, median of {args.runs}\n")
    print(f"| {'measure':<57} | {'seconds':>9} | {'vs thumbnail()':>14} |")
    print(f"|{'-' * 59}|{'-' * 11}|{'-' * 16}|")
    for name, key in (
        ("POST /api/v1/media -> 201 (answer)", "answer"),
        ("  ... until AVIF, the original and thumb_1280 are listed", "complete"),
        ("POST -> 201 with every variant before the answer", "eager"),
    ):
        print(f"| {name:<57} | {http[key]:>9.3f} | {http[key] / med['thumb']:>14.2f} |")
    print(f"| {'reference: pyvips thumbnail() alone (above)':<57} | {med['thumb']:>9.3f} | {1:>14.2f} |")


async def over_http(src: Path, runs: int) -> dict[str, float]:
    """Seconds to the upload's answer and to its last variant, deferring and not (medians)."""
    import aiohttp

    sys.path.insert(0, str(ROOT))
    from bench.fanout import free_port, wait_up
    from bench.nodeenv import load_env

    photo = src.read_bytes()
    out: dict[str, list[float]] = {"answer": [], "complete": [], "eager": []}
    for defer in ("true", "false"):
        port = free_port()
        data = tempfile.mkdtemp(prefix="cryb-media-http-")
        env = load_env(CRYB_PLUGIN__MEDIA__DEFER_SLOW_VARIANTS=defer)
        cmd = [sys.executable, "-m", "cryb_node", "serve", "--port", str(port), "--data", data]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_up(base + "/healthz")
            async with aiohttp.ClientSession() as http:
                body = {"username": "bench", "email": "bench@example.test", "password": "bench password 1"}
                async with http.post(base + "/api/v1/auth/register", json=body) as r:
                    auth = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
                for i in range(runs):
                    form = aiohttp.FormData()
                    # a different byte each time, so no upload reuses an earlier one's files
                    form.add_field("file", photo + bytes([i]), filename="photo.jpg")
                    t = time.perf_counter()
                    async with http.post(base + "/api/v1/media", data=form, headers=auth) as r:
                        got = await r.json()
                        assert r.status == 201, got
                    answer = time.perf_counter() - t
                    while got["pending"]:
                        await asyncio.sleep(0.01)
                        async with http.get(f"{base}/api/v1/media/{got['id']}", headers=auth) as r:
                            got = await r.json()
                    if defer == "true":
                        out["answer"].append(answer)
                        out["complete"].append(time.perf_counter() - t)
                    else:
                        out["eager"].append(answer)
        finally:
            proc.terminate()
            proc.wait(60)
    return {k: statistics.median(v) for k, v in out.items()}


if __name__ == "__main__":
    main()
