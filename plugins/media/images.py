"""Image processing with libvips, run in a worker thread (pyvips releases the GIL while libvips works).

Every stored file is re-encoded from decoded pixels with ``keep="none"``, so no metadata (EXIF, GPS,
XMP, IPTC, comments) of the upload survives; orientation is applied to the pixels first and colours
are converted to sRGB. The header is checked before any pixel is decoded, so a decompression bomb
(a tiny file declaring billions of pixels) costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from cryb_node import lazy

from .detect import Detected
from .placeholder import blurhash

if TYPE_CHECKING:
    import pyvips
else:  # libvips costs ~16 MiB of resident memory: loaded by the first image, not at start
    pyvips = lazy.module("pyvips")

ANIMATED = {"image/gif", "image/webp"}
# With defer, a large photo's thumbnails above this size are made after the upload is answered.
LATER_THUMBS_ABOVE = 640
_SAVE = {  # mime -> (file extension, libvips saver)
    "image/jpeg": ("jpg", "jpegsave"),
    "image/png": ("png", "pngsave"),
    "image/gif": ("gif", "gifsave"),
    "image/webp": ("webp", "webpsave"),
    "image/avif": ("avif", "heifsave"),
}


class Refused(Exception):
    """The upload is not an image we accept; ``status`` and ``code`` go into the API error."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass(frozen=True)
class Options:
    max_pixels: int
    max_frames: int
    thumbnail_sizes: tuple[int, ...]
    display_max_px: int
    webp_quality: int
    avif: bool
    avif_quality: int
    jpeg_quality: int


@dataclass(frozen=True)
class Variant:
    name: str
    path: Path
    mime: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class ImageResult:
    width: int
    height: int
    frames: int
    variants: list[Variant]
    placeholder: str
    dominant_color: str
    # Variants left for finish(): the slow ones (AVIF, a full-size original of a large photo).
    pending: list[str] = field(default_factory=list)


@cache
def can_encode_avif() -> bool:
    """True if this libvips build has an AV1 encoder (pyvips-binary's has)."""
    lazy.ready(pyvips)
    try:
        pyvips.Image.black(8, 8, bands=3).heifsave_buffer(compression="av1", effort=0)
    except pyvips.Error:
        return False
    return True


def _header(src: Path, det: Detected, opts: Options) -> tuple[int, int, int]:
    """(width, height, frames) from the header alone, refusing bombs and lying bytes."""
    try:
        head = pyvips.Image.new_from_file(str(src), access="sequential", fail_on="error")
        loader = head.get("vips-loader")
    except pyvips.Error:
        raise Refused(415, "unsupported_media_type", "the file is not a readable image") from None
    if not loader.startswith(det.loader):
        raise Refused(415, "unsupported_media_type", "the file's contents do not match its type")
    pages = head.get("n-pages") if head.get_typeof("n-pages") else 1
    frames = pages if det.mime in ANIMATED else 1
    width, height = head.width, head.height
    if frames > 1 and head.get_typeof("page-height"):
        height = head.get("page-height")
    if frames > opts.max_frames:
        raise Refused(
            422, "too_many_frames", f"the image has {frames} frames; the limit is {opts.max_frames}"
        )
    if width * height * frames > opts.max_pixels:
        raise Refused(
            422,
            "too_many_pixels",
            f"the image declares {width}x{height}x{frames} pixels; the limit is {opts.max_pixels}",
        )
    return width, height, frames


def _srgb(img: pyvips.Image) -> pyvips.Image:
    if img.get_typeof("icc-profile-data"):
        try:
            return img.icc_transform("srgb", embedded=True)
        except pyvips.Error:
            pass  # a broken profile: fall back to the plain conversion below
    if img.interpretation not in ("srgb", "b-w"):
        img = img.colourspace("srgb")
    return img.cast("uchar") if img.format != "uchar" else img


def _save(img: pyvips.Image, path: Path, mime: str, opts: Options) -> None:
    common = {"keep": "none"}
    if mime == "image/jpeg":
        if img.hasalpha():
            img = img.flatten(background=[255, 255, 255])
        img.jpegsave(str(path), Q=opts.jpeg_quality, **common)
    elif mime == "image/png":
        img.pngsave(str(path), **common)
    elif mime == "image/gif":
        img.gifsave(str(path), **common)
    elif mime == "image/webp":
        # effort 2 of 6: a third of the default's time for a few percent more bytes (bench/media.py)
        img.webpsave(str(path), Q=opts.webp_quality, effort=2, **common)
    else:  # effort 2: near effort 4's size at a tenth of its time (bench/media.py)
        img.heifsave(str(path), compression="av1", Q=opts.avif_quality, effort=2, **common)


def _thumb(src: Path, size: int, frames: int) -> pyvips.Image:
    # thumbnail() shrinks while decoding (JPEG/WebP), applies EXIF orientation and imports any
    # embedded ICC profile to sRGB; with n=-1 it keeps every frame of an animation.
    name = f"{src}[n=-1]" if frames > 1 else str(src)
    return _srgb(pyvips.Image.thumbnail(name, size, height=size, size="down"))


def _dims(img: pyvips.Image, frames: int) -> tuple[int, int]:
    return img.width, (img.get("page-height") if frames > 1 else img.height)


def process(src: Path, det: Detected, out: Path, opts: Options, *, defer: bool = False) -> ImageResult:
    """Check, clean and resize one uploaded image into files under ``out``. With ``defer`` the slow
    variants are left out and named in ``pending``: AVIF, and the full-size original when the image
    is larger than the display size (decoding and re-encoding 12 megapixels is most of the time)."""
    lazy.ready(pyvips)
    width, height, frames = _header(src, det, opts)
    try:
        return _process(src, det, out, opts, width, height, frames, defer)
    except pyvips.Error as err:
        raise Refused(422, "invalid_image", f"the image could not be decoded: {str(err)[:200]}") from None


def finish(src: Path, det: Detected, out: Path, opts: Options, names: list[str]) -> list[Variant]:
    """Make the variants ``process(defer=True)`` left pending, from the same upload."""
    lazy.ready(pyvips)
    width, height, frames = _header(src, det, opts)
    try:
        made = []
        if "original" in names:
            made.append(_original(src, det, out, opts, frames))
        display = _thumb(src, min(max(width, height), opts.display_max_px), frames).copy_memory()
        if "avif" in names:
            path = out / "display.avif"
            _save(display, path, "image/avif", opts)
            dw, dh = _dims(display, frames)
            made.append(Variant("avif", path, "image/avif", dw, dh))
        for name in names:
            if name.startswith("thumb_"):
                size = int(name.removeprefix("thumb_"))
                img = display.thumbnail_image(size, height=size, size="down")
                made.append(_thumbnail(src, out, opts, size, frames, img))
        return made
    except pyvips.Error as err:
        raise Refused(422, "invalid_image", f"the image could not be decoded: {str(err)[:200]}") from None


def _original(src: Path, det: Detected, out: Path, opts: Options, frames: int) -> Variant:
    if frames > 1:
        full = _srgb(pyvips.Image.new_from_file(str(src), n=-1, access="sequential", fail_on="error"))
    else:
        head = pyvips.Image.new_from_file(str(src), access="sequential")
        upright = not head.get_typeof("orientation") or head.get("orientation") == 1
        # Rotating by 90 degrees needs the whole image decoded; an upright one streams through.
        access = "sequential" if upright else "random"
        full = _srgb(pyvips.Image.new_from_file(str(src), access=access, fail_on="error").autorot())
    width, height = _dims(full, frames)
    ext, _ = _SAVE[det.mime]
    path = out / f"original.{ext}"
    _save(full, path, det.mime, opts)
    return Variant("original", path, det.mime, width, height)


def _process(
    src: Path, det: Detected, out: Path, opts: Options, width: int, height: int, frames: int, defer: bool
) -> ImageResult:
    variants: list[Variant] = []
    pending: list[str] = []
    # The header's size before orientation; the stored size is upright (90-degree turns swap them).
    longest = max(width, height)
    if defer and frames == 1 and longest > opts.display_max_px:
        pending.append("original")
        head = pyvips.Image.new_from_file(str(src), access="sequential")
        if head.get_typeof("orientation") and head.get("orientation") in (5, 6, 7, 8):
            width, height = height, width
    else:
        original = _original(src, det, out, opts, frames)
        variants.append(original)
        width, height = original.width or width, original.height or height
    longest = max(width, height)
    display = _thumb(src, min(longest, opts.display_max_px), frames)
    if frames == 1:
        # Decoded once into memory (at most display_max_px square): it is encoded twice and the
        # smaller thumbnails are cut from it, far cheaper than decoding the upload again each time.
        # Animations are not kept in memory (frames x pixels); they are re-read per size instead.
        display = display.copy_memory()
    dw, dh = _dims(display, frames)
    if det.mime != "image/webp" or longest > opts.display_max_px:
        path = out / "display.webp"
        _save(display, path, "image/webp", opts)
        variants.append(Variant("webp", path, "image/webp", dw, dh))
    wants_avif = (
        opts.avif
        and can_encode_avif()
        and frames == 1
        and (det.mime != "image/avif" or longest > opts.display_max_px)
    )
    if wants_avif and defer:
        pending.append("avif")  # an AV1 encode of the display size takes longer than all the rest
    elif wants_avif:
        path = out / "display.avif"
        _save(display, path, "image/avif", opts)
        variants.append(Variant("avif", path, "image/avif", dw, dh))

    for size in sorted(set(opts.thumbnail_sizes)):
        if size >= longest:
            continue  # never upscale; the full-size variants serve small images
        if defer and frames == 1 and size > LATER_THUMBS_ABOVE and longest > opts.display_max_px:
            pending.append(f"thumb_{size}")  # a large photo's larger thumbnails: the display WebP serves
            continue
        img = (
            display.thumbnail_image(size, height=size, size="down")
            if frames == 1 and size < max(dw, dh)
            else None
        )
        variants.append(_thumbnail(src, out, opts, size, frames, img))

    hash_, colour = _placeholder(display if frames == 1 else _thumb(src, 32, 1))
    return ImageResult(width, height, frames, variants, hash_, colour, sorted(pending))


def _thumbnail(
    src: Path, out: Path, opts: Options, size: int, frames: int, img: pyvips.Image | None
) -> Variant:
    if img is None:
        img = _thumb(src, size, frames)
    path = out / f"thumb_{size}.webp"
    _save(img, path, "image/webp", opts)
    tw, th = _dims(img, frames)
    return Variant(f"thumb_{size}", path, "image/webp", tw, th)


def _placeholder(img: pyvips.Image) -> tuple[str, str]:
    tiny = img.thumbnail_image(32, height=32, size="down")
    if tiny.hasalpha():
        tiny = tiny.flatten(background=[255, 255, 255])
    if tiny.bands == 1:
        tiny = tiny.bandjoin([tiny, tiny])
    tiny = tiny.extract_band(0, n=3)
    return blurhash(bytes(tiny.write_to_memory()), tiny.width, tiny.height)


def poster(frame: Path, out: Path, opts: Options) -> ImageResult:
    """A video's poster: its first frame (a JPEG from ffmpeg) as a display-size WebP."""
    lazy.ready(pyvips)
    try:
        img = _thumb(frame, opts.display_max_px, 1).copy_memory()
        path = out / "poster.webp"
        _save(img, path, "image/webp", opts)
    except pyvips.Error as err:
        raise Refused(422, "invalid_image", f"no poster frame: {str(err)[:200]}") from None
    hash_, colour = _placeholder(img)
    return ImageResult(
        img.width,
        img.height,
        1,
        [Variant("poster", path, "image/webp", img.width, img.height)],
        hash_,
        colour,
    )
