"""Media blobs beside the database replica: with the local media backend, `cryb backup` and the
running node copy the blob files to the replication target, content-addressed and incremental.

A blob's name is the sha256 of its bytes and a blob never changes, so "the target has this name"
is all an incremental copy needs to know: each pass lists both sides and copies only the names
the other side lacks (push after writes, pull on restore). Nothing is ever overwritten or deleted
on the target; the media plugin's garbage collection only touches the node's own folder, so the
replica keeps blobs of deleted media (see the retention notes in the README).

Layout on the target, the same as the local store: ``media/ab/cd/<sha256>`` in the target folder
(file) or under the target path in the bucket (s3). sftp targets get no media copy (status says so).
With the S3 media backend the blobs already live in object storage and nothing is copied.

The core never imports the media plugin: where blobs live is read from that plugin's settings
(``storage`` and ``local_path``), which are configuration, not internals.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from cryb_node.config import ReplicationSection

if TYPE_CHECKING:
    from cryb_node.plugins import Loaded

_KEY = re.compile(r"^[0-9a-f]{64}$")
MEDIA_DIR = "media"
CHUNK = 1024 * 1024
# The node copies new blobs this many sync intervals apart (at least MIN_INTERVAL_S): blobs are
# large and listing a bucket is not free, while the database is shipped every interval.
INTERVAL_FACTOR = 30
MIN_INTERVAL_S = 10.0


class MediaBackupError(RuntimeError):
    """Blobs could not be copied; the message says why (never credentials)."""


class Source(msgspec.Struct, frozen=True):
    """Where this node's blobs are: ``mode`` "local" (``root`` set), "s3" (nothing to copy) or "none"."""

    mode: str
    root: str = ""

    @property
    def note(self) -> str:
        if self.mode == "s3":
            return "media stored in S3 by the media backend: nothing to copy"
        if self.mode == "none":
            return "media plugin not loaded: nothing to copy"
        return f"local blobs in {self.root}"


class Copied(msgspec.Struct, kw_only=True):
    """One pass: blobs seen on the copying side, copied, their bytes, and the time it took."""

    direction: str  # push (node -> target) | pull (target -> node)
    blobs: int = 0
    copied: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped_bad: int = 0  # pulled blobs whose bytes did not match their name (not installed)


def source(plugins: list[Loaded], data_dir: Path) -> Source:
    for loaded in plugins:
        if loaded.plugin.name != "media":
            continue
        settings = loaded.settings
        if getattr(settings, "storage", "local") == "s3":
            return Source("s3")
        local = getattr(settings, "local_path", "")
        # The media plugin's own default (MediaService: <data dir>/media/blobs).
        return Source("local", str(Path(local) if local else data_dir / "media" / "blobs"))
    return Source("none")


def interval_s(cfg: ReplicationSection) -> float:
    return max(MIN_INTERVAL_S, cfg.sync_interval_s * INTERVAL_FACTOR)


def supported(cfg: ReplicationSection) -> bool:
    return cfg.type in ("file", "s3")


def _rel(key: str) -> str:
    return f"{key[:2]}/{key[2:4]}/{key}"


def local_keys(root: Path) -> dict[str, int]:
    """Blob name -> size, for the blobs in a local store (temp files and strays are ignored)."""
    found: dict[str, int] = {}
    if not root.is_dir():
        return found
    for path in root.glob("??/??/*"):
        if _KEY.match(path.name) and path.is_file():
            found[path.name] = path.stat().st_size
    return found


def _install(tmp: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, dest)


def _copy_checked(src: Any, tmp: Path, key: str) -> bool:
    """Copy a readable stream into ``tmp``; True when the bytes hash to ``key``."""
    digest = hashlib.sha256()
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest() == key


class Target(Protocol):
    def keys(self) -> set[str]: ...
    def put(self, key: str, src: Path) -> None: ...
    def get(self, key: str, dest: Path) -> bool: ...


class FolderTarget:
    """``<target path>/media/ab/cd/<sha256>``, written atomically (temp file + rename)."""

    def __init__(self, cfg: ReplicationSection) -> None:
        self.root = Path(cfg.path).resolve() / MEDIA_DIR

    def keys(self) -> set[str]:
        return set(local_keys(self.root))

    def put(self, key: str, src: Path) -> None:
        dest = self.root / _rel(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)

    def get(self, key: str, dest: Path) -> bool:
        tmp = dest.with_name(f".{key}.{os.getpid()}.tmp")
        with open(self.root / _rel(key), "rb") as src:
            ok = _copy_checked(src, tmp, key)
        if ok:
            _install(tmp, dest)
        else:
            tmp.unlink(missing_ok=True)
        return ok


class S3Target:
    """``<bucket>/<target path>/media/ab/cd/<sha256>`` with boto3 (blocking: call from a thread)."""

    def __init__(self, cfg: ReplicationSection) -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = cfg.bucket
        base = cfg.path.strip("/")
        self.prefix = f"{base}/{MEDIA_DIR}/" if base else f"{MEDIA_DIR}/"
        # Credentials as Litestream gets them: the configured ones, else AWS_* from the environment.
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=cfg.endpoint or None,
            region_name=cfg.region or None,
            aws_access_key_id=cfg.access_key_id or None,
            aws_secret_access_key=cfg.secret_access_key or None,
            verify=not cfg.skip_verify,
            config=BotoConfig(
                s3={"addressing_style": "path" if cfg.force_path_style else "auto"},
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )

    def keys(self) -> set[str]:
        found: set[str] = set()
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", ()):
                name = obj["Key"].rsplit("/", 1)[-1]
                if _KEY.match(name):
                    found.add(name)
        return found

    def put(self, key: str, src: Path) -> None:
        self.client.upload_file(str(src), self.bucket, self.prefix + _rel(key))

    def get(self, key: str, dest: Path) -> bool:
        tmp = dest.with_name(f".{key}.{os.getpid()}.tmp")
        body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _rel(key))["Body"]
        try:
            ok = _copy_checked(body, tmp, key)
        finally:
            body.close()
        if ok:
            _install(tmp, dest)
        else:
            tmp.unlink(missing_ok=True)
        return ok


def target(cfg: ReplicationSection) -> Target:
    if cfg.type == "file":
        return FolderTarget(cfg)
    if cfg.type == "s3":
        return S3Target(cfg)
    raise MediaBackupError(f"media blobs are not copied to {cfg.type} targets (only file and s3)")


def _describe(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text[:500]


def push(cfg: ReplicationSection, root: Path, dest: Target | None = None) -> Copied:
    """Copy the local blobs the target lacks to it (blocking)."""
    started = time.monotonic()
    here = local_keys(root)
    result = Copied(direction="push", blobs=len(here))
    try:
        dest = dest or target(cfg)
        missing = sorted(set(here) - dest.keys())
        for key in missing:
            path = root / _rel(key)
            if not path.is_file():  # deleted by the media GC since we listed
                continue
            dest.put(key, path)
            result.copied += 1
            result.bytes += here[key]
    except MediaBackupError:
        raise
    except Exception as err:  # boto3/botocore and OSError: report, the next pass retries
        raise MediaBackupError(f"copying media blobs failed: {_describe(err)}") from err
    result.seconds = round(time.monotonic() - started, 3)
    return result


def pull(cfg: ReplicationSection, root: Path, src: Target | None = None) -> Copied:
    """Copy the blobs the node lacks back from the target (restore; blocking). A blob whose bytes
    do not hash to its name is not installed and is counted in ``skipped_bad``."""
    started = time.monotonic()
    try:
        src = src or target(cfg)
        there = src.keys()
        result = Copied(direction="pull", blobs=len(there))
        for key in sorted(there - set(local_keys(root))):
            dest = root / _rel(key)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.get(key, dest):
                result.copied += 1
                result.bytes += dest.stat().st_size
            else:
                result.skipped_bad += 1
    except MediaBackupError:
        raise
    except Exception as err:
        raise MediaBackupError(f"restoring media blobs failed: {_describe(err)}") from err
    result.seconds = round(time.monotonic() - started, 3)
    return result
