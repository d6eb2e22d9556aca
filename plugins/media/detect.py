"""What an upload is, decided from its first bytes (magic numbers), never from its name or the
client's Content-Type. Images are checked again by libvips before any processing (images.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

# Enough bytes for every signature below (MP3 frames after an ID3 tag are not needed: ID3 suffices).
SNIFF_BYTES = 64


@dataclass(frozen=True)
class Detected:
    kind: str  # image | video | audio
    mime: str
    ext: str
    loader: str = ""  # the libvips loader that must accept an image of this type


_ISO_BRANDS = {  # ISO base media (ftyp box) major/compatible brands
    b"avif": ("image", "image/avif", "avif", "heifload"),
    b"avis": ("image", "image/avif", "avif", "heifload"),
    b"M4A ": ("audio", "audio/mp4", "m4a", ""),
    b"qt  ": ("video", "video/quicktime", "mov", ""),
}
_MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"MSNV"}


def _iso(head: bytes) -> Detected | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box = int.from_bytes(head[:4], "big")
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(box, len(head)) - 3, 4)]
    for brand in brands:
        if brand in _ISO_BRANDS:
            kind, mime, ext, loader = _ISO_BRANDS[brand]
            return Detected(kind, mime, ext, loader)
    if any(b in _MP4_BRANDS for b in brands):
        return Detected("video", "video/mp4", "mp4")
    return None


def sniff(head: bytes) -> Detected | None:
    """The allowed type these leading bytes belong to, or None (refused). HEIC, SVG, PDF, HTML and
    anything else not listed are refused: they are either unsafe to serve or not supported."""
    if head.startswith(b"\xff\xd8\xff"):
        return Detected("image", "image/jpeg", "jpg", "jpegload")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Detected("image", "image/png", "png", "pngload")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Detected("image", "image/gif", "gif", "gifload")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Detected("image", "image/webp", "webp", "webpload")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Detected("audio", "audio/wav", "wav")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska or WebM, told apart by the DocType
        if b"webm" in head[:SNIFF_BYTES]:
            return Detected("video", "video/webm", "webm")
        return None
    if head.startswith(b"OggS"):
        return Detected("audio", "audio/ogg", "ogg")
    if head.startswith(b"fLaC"):
        return Detected("audio", "audio/flac", "flac")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return Detected("audio", "audio/mpeg", "mp3")  # ID3 tag, or an MPEG-1/2 layer III frame sync
    return _iso(head)


def file_hash(path: Path) -> tuple[str, int]:
    """A file's SHA-256 (hex) and size, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
