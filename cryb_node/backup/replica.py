"""Backups from the replica: list what it holds, restore (optionally to a point in time), verify a
restore, force a snapshot. `cryb backup` (cli.py) and restore-on-start call these.
Media blobs of the local media backend travel beside the database (blobs.py): pushed by
`snapshot_now`, pulled back by `restore_media` after a restore.
These run in the `cryb backup` process, or before the node opens its database: with no node, they
read the system's clock (as the running node's replication status, which they compare with, does).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node import identity
from cryb_node.backup import blobs, litestream, replication
from cryb_node.backup.litestream import LitestreamError, OneShot
from cryb_node.config import Config
from cryb_node.doctor import Finding, check_database

if TYPE_CHECKING:
    from cryb_node.plugins import Loaded

# (stage, done, total, bytes written so far)
ProgressFn = Callable[[str, int, int, int], None]


class BackupError(RuntimeError):
    """A backup operation cannot go ahead; the message says why and what to do."""


class LtxFile(msgspec.Struct):
    level: int
    min_txid: int
    max_txid: int
    size: int
    timestamp: str


class Listing(msgspec.Struct):
    target: str
    files: int
    bytes: int
    earliest: str | None  # oldest restorable moment (the oldest snapshot)
    latest: str | None  # newest replicated moment
    max_txid: int
    snapshots: list[LtxFile]  # level 9: full copies; each starts a restorable range
    levels: dict[str, int]  # files per level


class Restored(msgspec.Struct):
    path: str
    txid: int
    bytes: int
    seconds: float
    timestamp: str | None


class Verified(msgspec.Struct):
    ok: bool
    txid: int
    bytes: int
    seconds: float
    checks: list[dict[str, Any]]


def _require(cfg: Config) -> None:
    if not cfg.replication.enabled:
        raise BackupError("replication is not configured: set [replication] enabled = true in cryb.toml")


def list_backups(cfg: Config, db_path: Path) -> Listing:
    _require(cfg)
    with OneShot(cfg.replication, db_path) as ls:
        raw = ls.ltx_files()
    files = [
        LtxFile(
            level=int(f["level"]),
            min_txid=int(f["min_txid"], 16),
            max_txid=int(f["max_txid"], 16),
            size=int(f["size"]),
            timestamp=str(f["timestamp"]),
        )
        for f in raw
    ]
    snapshots = sorted((f for f in files if f.level == 9), key=lambda f: f.max_txid)
    levels: dict[str, int] = {}
    for f in files:
        levels[str(f.level)] = levels.get(str(f.level), 0) + 1
    return Listing(
        target=litestream.target_description(cfg.replication),
        files=len(files),
        bytes=sum(f.size for f in files),
        earliest=min((f.timestamp for f in snapshots), default=None),
        latest=max((f.timestamp for f in files), default=None),
        max_txid=max((f.max_txid for f in files), default=0),
        snapshots=snapshots,
        levels=levels,
    )


class Backups(msgspec.Struct):
    """What the node admin's dashboard shows: `cryb backup list` plus `cryb backup status`."""

    enabled: bool
    target: str | None
    listing: Listing | None  # None: replication off, or the replica could not be listed (error)
    status: replication.Status | None  # the running node's replication (None: it has not run)
    error: str | None = None


def overview(cfg: Config, db_path: Path, status: replication.Status | None) -> Backups:
    """The replica's listing and the given replication status; a listing failure is reported, not
    raised, so the status still shows (it usually says why)."""
    if not cfg.replication.enabled:
        return Backups(enabled=False, target=None, listing=None, status=status)
    target = litestream.target_description(cfg.replication)
    try:
        listing = list_backups(cfg, db_path)
    except (BackupError, LitestreamError) as err:
        return Backups(enabled=True, target=target, listing=None, status=status, error=str(err))
    return Backups(enabled=True, target=target, listing=listing, status=status)


def parse_timestamp(text: str) -> datetime:
    """ISO 8601; a time without an offset is taken as UTC."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BackupError(
            f"--timestamp {text!r} is not an ISO 8601 time (e.g. 2026-05-01T12:30:00Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def restore_file(
    cfg: Config,
    db_path: Path,
    out: Path,
    *,
    timestamp: datetime | None = None,
    progress: ProgressFn | None = None,
) -> Restored:
    """Restore the replica into a new file ``out`` (which must not exist)."""
    _require(cfg)
    if out.exists():
        raise BackupError(f"{out} already exists")
    out.parent.mkdir(parents=True, exist_ok=True)
    args = ["restore", "-json", "-o", str(out)]
    if timestamp is not None:
        args += ["-timestamp", _rfc3339(timestamp)]
    started = time.monotonic()
    with OneShot(cfg.replication, db_path) as ls:
        proc = ls.popen(*args, str(db_path.resolve()))
        stderr: list[str] = []
        counts = {"total": 0, "done": 0}
        stage = ["planning"]

        def read_log() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                stderr.append(line)
                if '"restore plan"' in line:
                    counts["total"] = _field_int(line, "n")
                    stage[0] = "downloading"
                elif '"opening ltx file for restore"' in line:
                    counts["done"] += 1
                elif '"compacting into database"' in line:
                    stage[0] = "writing"

        reader = threading.Thread(target=read_log, daemon=True)
        reader.start()
        tmp = out.with_name(out.name + ".tmp")
        while proc.poll() is None:
            if progress is not None:
                size = tmp.stat().st_size if tmp.exists() else 0
                progress(stage[0], counts["done"], counts["total"], size)
            time.sleep(0.2)
        reader.join(5)
        stdout = proc.stdout.read() if proc.stdout is not None else ""
    if proc.returncode != 0 or not out.exists():
        text = litestream.error_text("".join(stderr))
        if "no matching backup" in text or "no snapshot" in text or "not found" in text.lower():
            raise BackupError(
                f"the replica holds nothing to restore{' at that time' if timestamp else ''}: {text}"
            )
        raise LitestreamError(text)
    summary = msgspec.json.decode(stdout.encode()) if stdout.strip().startswith("{") else {}
    size = out.stat().st_size
    if progress is not None:
        progress("done", counts["total"], counts["total"], size)
    return Restored(
        path=str(out),
        txid=_hex(summary.get("txid", "0")),
        bytes=size,
        seconds=round(time.monotonic() - started, 3),
        timestamp=_rfc3339(timestamp) if timestamp else None,
    )


def _field_int(line: str, name: str) -> int:
    try:
        value = msgspec.json.decode(line.encode()).get(name, 0)
        return int(value)
    except (msgspec.DecodeError, ValueError, TypeError, AttributeError):
        return 0


def _hex(value: object) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 16)
    except ValueError:
        return 0


def _node_running(data_dir: Path) -> replication.Status | None:
    st = replication.read_status(data_dir)
    alive = st is not None and st.node_pid != os.getpid() and replication.node_alive(st.node_pid)
    if st is not None and st.state != "stopped" and alive:
        return st
    return None


def restore_in_place(
    cfg: Config,
    db_path: Path,
    *,
    timestamp: datetime | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> Restored:
    """Replace the node's own database with the replica's (the node must be stopped).

    The current file, if any, is kept beside it; the node gets a new log key so it never reuses
    a sequence number its old log handed out after the backup point.
    """
    data_dir = db_path.parent
    if _node_running(data_dir) is not None:
        raise BackupError("the node is running: stop it before restoring over its database")
    if db_path.exists() and not force:
        raise BackupError(
            f"{db_path} exists: pass --force to replace it (it is kept as a .before-restore copy)"
        )
    staging = db_path.with_name(db_path.name + ".restoring")
    for leftover in (staging, staging.with_name(staging.name + ".tmp")):
        leftover.unlink(missing_ok=True)
    result = restore_file(cfg, db_path, staging, timestamp=timestamp, progress=progress)
    if db_path.exists():
        stamp = time.strftime("%Y%m%dT%H%M%S")
        os.replace(db_path, db_path.with_name(f"{db_path.name}.before-restore-{stamp}"))
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    # Litestream's local positions describe the old file; it starts afresh from the replica.
    shutil.rmtree(litestream.meta_dir(db_path), ignore_errors=True)
    os.replace(staging, db_path)
    identity.rotate_log_key(data_dir)
    result.path = str(db_path)
    return result


def restore_missing(cfg: Config, db_path: Path, media: blobs.Source | None = None) -> bool:
    """Restore-on-start: if the database is missing and the replica has one, restore it (and
    copy back the media blobs the node lacks)."""
    if db_path.exists():
        return False
    try:
        restore_in_place(cfg, db_path)
    except BackupError as err:
        if "nothing to restore" in str(err):
            return False
        raise
    if media is not None:
        restore_media(cfg, media)
    return True


def restore_media(cfg: Config, media: blobs.Source) -> blobs.Copied | None:
    """Copy the blobs the node lacks back from the target; None when nothing is to be copied
    (S3 media backend, no media plugin, or a target type without media)."""
    _require(cfg)
    if media.mode != "local" or not blobs.supported(cfg.replication):
        return None
    try:
        return blobs.pull(cfg.replication, Path(media.root))
    except blobs.MediaBackupError as err:
        # The database is back already; a second restore (--force) copies the missing blobs.
        raise BackupError(f"the database is restored, but {err}; run the restore again (--force)") from err


def verify(cfg: Config, db_path: Path, plugins: list[Loaded]) -> Verified:
    """Restore into a temporary file and run the same checks as `cryb doctor` on it."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cryb-verify-") as tmp:
        restored = restore_file(cfg, db_path, Path(tmp) / "verify.db")
        findings: list[Finding] = list(
            check_database(Path(restored.path), plugins, busy_timeout_ms=cfg.db.busy_timeout_ms)
        )
    return Verified(
        ok=all(f.ok for f in findings),
        txid=restored.txid,
        bytes=restored.bytes,
        seconds=round(time.monotonic() - started, 3),
        checks=[{"check": f.check, "ok": f.ok, "detail": f.detail} for f in findings],
    )


def _media_line(copied: int, size: int, blobs: int, since_start: bool = False) -> str:
    when = " since the node started" if since_start else ""
    return f"media: {copied} blobs copied{when} ({size} bytes), {blobs} local blobs, all in the replica"


def snapshot_now(
    cfg: Config, db_path: Path, *, timeout: float = 120, media: blobs.Source | None = None
) -> str:
    """Force a full snapshot into the replica and copy new media blobs. A running node does both
    itself (asked by SIGUSR1, so only one Litestream ever works on the database); a stopped
    node's database is snapshotted (and its blobs copied) directly."""
    _require(cfg)
    data_dir = db_path.parent
    media = media or blobs.Source("none")
    copies_media = media.mode == "local" and blobs.supported(cfg.replication)
    running = _node_running(data_dir)
    if running is None:
        if not db_path.exists():
            raise BackupError(f"{db_path} does not exist: nothing to snapshot")
        with OneShot(cfg.replication, db_path) as ls:
            ls.run("replicate", "-once", "-force-snapshot", timeout=timeout)
        lines = ["snapshot taken (node not running)"]
        if copies_media:
            try:
                done = blobs.push(cfg.replication, Path(media.root))
            except blobs.MediaBackupError as err:
                raise BackupError(str(err)) from err
            lines.append(_media_line(done.copied, done.bytes, done.blobs))
        else:
            lines.append(f"media: {media.note}")
        return "\n".join(lines)
    before, asked = running.snapshots, time.time()
    os.kill(running.node_pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        st = replication.read_status(data_dir)
        if st is not None and st.last_error and st.last_error.startswith("forced snapshot failed"):
            raise LitestreamError(st.last_error)
        if st is None or st.snapshots <= before:
            continue
        lines = [f"snapshot taken by the running node (replica txid {st.replica_txid})"]
        if not copies_media:
            return "\n".join([*lines, f"media: {st.media or media.note}"])
        # A pass that began after we asked has seen every blob uploaded before `cryb backup now`.
        started, ended = st.media_pass_started_at or 0.0, st.media_pass_ended_at or 0.0
        if started >= asked and ended >= started:
            if st.media_error:
                raise BackupError(st.media_error)
            return "\n".join([*lines, _media_line(st.media_copied, st.media_bytes, st.media_blobs, True)])
    raise BackupError(f"the node did not report a snapshot within {timeout:.0f}s")
