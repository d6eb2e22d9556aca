"""Typed shapes of the media plugin: its settings (``[plugin.media]``) and its API responses."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Size = Annotated[int, Meta(ge=1)]
MiB = 1024 * 1024


class S3Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Any S3-compatible object store (AWS, MinIO, Garage, Ceph, R2, ...)."""

    bucket: str = ""
    prefix: str = "media/"  # key prefix inside the bucket
    endpoint: str = ""  # empty: AWS itself; else e.g. "https://s3.example.net"
    region: str = "us-east-1"
    force_path_style: bool = True  # most S3-compatible servers need path-style addressing
    # Credentials; empty ones come from the environment (AWS_ACCESS_KEY_ID, ...), as boto3 does.
    access_key_id: str = ""
    secret_access_key: str = ""


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Largest upload per kind, in bytes; the upload route accepts bodies up to the largest of these.
    image_max_bytes: Size = 20 * MiB
    video_max_bytes: Size = 200 * MiB
    audio_max_bytes: Size = 50 * MiB
    # Bytes one user may keep uploaded (sum of upload sizes; 0: no quota).
    user_quota_bytes: Annotated[int, Meta(ge=0)] = 1024 * MiB
    # Decompression bombs: images whose header declares more pixels (width x height x frames) than
    # this are refused before any pixel is decoded.
    max_pixels: Size = 100_000_000
    max_frames: Size = 1000  # frames of an animated GIF/WebP
    # Thumbnails (longest edge, pixels) made for every image, as WebP (animated ones stay animated).
    thumbnail_sizes: list[Annotated[int, Meta(ge=16, le=4096)]] = msgspec.field(
        default_factory=lambda: [160, 320, 640, 1280]
    )
    # The "webp" and "avif" variants: the image at most this large (longest edge, pixels).
    display_max_px: Annotated[int, Meta(ge=64, le=16_384)] = 2048
    webp_quality: Annotated[int, Meta(ge=1, le=100)] = 80
    avif: bool = True  # also an AVIF of still images, when this libvips can encode AVIF
    avif_quality: Annotated[int, Meta(ge=1, le=100)] = 55
    jpeg_quality: Annotated[int, Meta(ge=1, le=100)] = 88  # the cleaned full-size JPEG
    # Answer an upload once its thumbnails and display-size WebP exist; make AVIF and the full-size
    # original of a photo larger than display_max_px afterwards (pending.py). False: all before.
    defer_slow_variants: bool = True
    # Images processed at once (each in a worker thread; libvips releases the GIL).
    workers: Annotated[int, Meta(ge=1, le=64)] = 2
    # Uploads never attached to a post, message or profile are deleted after this long.
    orphan_ttl_s: Annotated[float, Meta(gt=0)] = 86_400.0
    # Stored files nothing refers to any more are deleted this long after (lets in-flight uploads
    # of the same bytes finish).
    blob_grace_s: Annotated[float, Meta(ge=0)] = 3_600.0
    gc_interval_s: Annotated[float, Meta(gt=0)] = 3_600.0
    # Lifetime of signed URLs handed out for private media (channels anonymous users cannot see).
    signed_url_ttl_s: Annotated[int, Meta(ge=10, le=7 * 86_400)] = 3_600
    # Where clients fetch files: a CDN or reverse proxy that forwards /media/ to this node.
    # Empty: the node's own base URL.
    public_base_url: str = ""
    ffmpeg: str = ""  # poster frames for video; empty: `ffmpeg` on PATH if there is one
    # Other nodes' media (fetched when opened here) kept in <data>/media/cache, least recently
    # used out first when over this many bytes; this node's own uploads never count or go.
    cache_quota_bytes: Annotated[int, Meta(ge=0)] = 1024 * MiB
    storage: Literal["local", "s3"] = "local"
    local_path: str = ""  # empty: <data_dir>/media/blobs
    s3: S3Settings = msgspec.field(default_factory=S3Settings)

    def __post_init__(self) -> None:
        if self.storage == "s3" and not self.s3.bucket:
            raise ValueError("`s3.bucket` is required when storage is 's3'")

    def limit_for(self, kind: str) -> int:
        return {"image": self.image_max_bytes, "video": self.video_max_bytes}.get(kind, self.audio_max_bytes)

    @property
    def largest_upload(self) -> int:
        return max(self.image_max_bytes, self.video_max_bytes, self.audio_max_bytes)


class VariantOut(msgspec.Struct, kw_only=True):
    name: str  # original | thumb_<px> | webp | avif | poster
    url: str
    mime: str
    size: int
    width: int | None = None
    height: int | None = None


class MediaOut(msgspec.Struct, kw_only=True):
    id: str
    kind: str  # image | video | audio
    mime: str
    size: int  # bytes uploaded
    width: int | None = None
    height: int | None = None
    frames: int | None = None  # animated images
    placeholder: str | None = None  # BlurHash (4x3 components)
    dominant_color: str | None = None  # "#rrggbb"
    private: bool  # served only through signed, expiring URLs
    url_expires_at: int | None = None  # unix seconds, for signed URLs
    variants: list[VariantOut]
    created_at: int  # ms since epoch
    filename: str | None = None  # the name it was uploaded with (file cards, downloads)
    # Variants still being made (avif, original) after an early answer: ask again to get them;
    # meanwhile their URLs serve the display-size WebP.
    pending: list[str] = []


class SignedQuery(msgspec.Struct, kw_only=True):
    exp: int | None = None
    sig: str | None = None


class StatsOut(msgspec.Struct, kw_only=True):
    media: int
    attached: int
    unattached: int
    uploaded_bytes: int
    blobs: int
    stored_bytes: int  # bytes in storage (each distinct blob once)
    orphaned_blobs: int
    by_kind: dict[str, int]
    backend: str
    # other nodes' media known here, and what of it is cached (never counted above)
    remote_media: int = 0
    cached_blobs: int = 0
    cached_bytes: int = 0
    cache_quota_bytes: int = 0


class GcOut(msgspec.Struct, kw_only=True):
    media_deleted: int
    blobs_deleted: int
    bytes_freed: int
    temp_files_deleted: int


# -- the node admin's media console (admin_routes.py, takedown.py, listing.py) ------------------------

Sha256 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$", description="sha256 of the bytes, lowercase hex")]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]


class AdminMediaQuery(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    sha256: Sha256 | None = None  # uploads of these bytes, or with a variant of these bytes
    after: Annotated[str, Meta(min_length=1, max_length=64)] | None = None  # the previous page's last id
    limit: Annotated[int, Meta(ge=1, le=200)] = 50


class TakedownInfo(msgspec.Struct, kw_only=True):
    at: int  # ms since epoch
    reason: str
    actor_id: str | None  # None: taken down at the console (`cryb media takedown`)
    sha256: str | None  # the block list entry it put in place


class AdminMediaItem(msgspec.Struct, kw_only=True):
    id: str
    owner_id: str
    kind: str
    mime: str
    size: int
    filename: str
    sha256: str  # of the uploaded bytes (what `sha256sum file` prints)
    created_at: int  # ms since epoch
    channel_id: str | None  # attached in this channel (None and attached: public, e.g. an avatar)
    channel_name: str | None = None  # and its name and community's, when this node knows them
    community_name: str | None = None
    attached: bool
    attached_to: list[str]  # the messages, posts (or, for an avatar, the user) attaching it
    thumbnail_url: str | None  # a short-lived signed URL of its smallest thumbnail, if it has one
    taken_down: TakedownInfo | None


class AdminMediaPage(msgspec.Struct, kw_only=True):
    items: list[AdminMediaItem]
    next_after: str | None  # pass as `after` for the next (older) page; None: that was the last


class TakedownIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class TakedownByHashIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    sha256: Sha256
    reason: Reason


class TakedownOut(msgspec.Struct, kw_only=True):
    sha256: str | None  # the block list's head entry (None: another node's media never described here)
    media_ids: list[str]  # this node's uploads taken down (every one with the same bytes)
    remote_ids: list[str]  # other nodes' media refused from now on
    blocked: list[str]  # hashes now refused (the uploaded bytes and every file made from them)
    blobs_deleted: int  # stored files removed
    blobs_pending: int  # stored files storage did not delete yet (the cleanup job retries them)
    cached_deleted: int  # cached copies of other nodes' files removed


class BlockIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    sha256: Sha256
    reason: Reason


class BlockEntry(msgspec.Struct, kw_only=True):
    sha256: str
    reason: str
    actor_id: str | None
    media_id: str | None  # the take-down that blocked it, if one did
    created_at: int
    derived: int  # files made from these bytes, blocked (and unblocked) with it


class BlockOut(msgspec.Struct, kw_only=True):
    entry: BlockEntry
    # This node's uploads that already have these bytes: a block refuses new ones only; take them
    # down with POST /api/v1/admin/media/takedown.
    matches: list[str]


class BlocklistQuery(msgspec.Struct, forbid_unknown_fields=True):
    after: Sha256 | None = None  # the previous page's last entry
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


class BlocklistPage(msgspec.Struct, kw_only=True):
    entries: list[BlockEntry]  # newest first
    next_after: str | None
