"""The managed Litestream child: runs `litestream replicate` beside the node, restarts it with
exponential backoff when it dies, reads its log to know how far the replica has got, and stops it
after a final sync when the node shuts down.

While replication is on, the node's own checkpoints (db.Checkpoints; its writer never runs
SQLite's automatic ones) are off: Litestream must see every WAL frame before it is checkpointed
away, so it does the checkpoints itself. They stay off between restarts of a crashed child too (the WAL
grows for at most one backoff, 30 s): a checkpoint behind Litestream's back lost acknowledged
writes in the long drill. They come back when replication stops with the node.

Lag is "how old is the oldest committed write that is not yet in the replica": the node notes
when it commits; Litestream's debug log says when it read the WAL ("sync"), turned it into a local
transaction ("db sync"), and shipped that transaction ("ltx file uploaded" / "replica sync").

Media blobs with the local media backend are copied to the same target by a second loop here
(blobs.py: content-addressed, incremental) every ``sync_interval_s`` x 30 (at least 10 s)
and on `cryb backup now`; with the S3 media backend they already live in object storage. The
search index is not replicated: the search plugin rebuilds a missing index from the database.

Wall-clock times here are the system's, not the node's clock: they are compared with the times in
Litestream's log (another process) and with what `cryb backup` reads from status.json (another
process again). Only the child's lifetime, which decides the restart backoff, is on node.clock.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from cryb_node.backup import blobs, litestream
from cryb_node.config import ReplicationSection

if TYPE_CHECKING:
    from cryb_node.clock import Clock
    from cryb_node.db import Database

log = logging.getLogger(__name__)

State = Literal["starting", "running", "restarting", "stopped", "failed"]
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
# A child that lived this long is considered healthy: the next failure starts the backoff over.
HEALTHY_AFTER_S = 60.0
# Litestream retries a failing upload quietly (a refused connection logs no error for minutes),
# so a replica this far behind is reported as a problem by the node itself.
STALL_AFTER_S = 10.0
# Pending-commit times are kept at this resolution so a long outage costs little memory.
_COMMIT_RESOLUTION_S = 0.05
MEDIA_RETRY_S = 5.0  # after a failed media copy pass


class Status(msgspec.Struct, kw_only=True):
    state: State
    target: str
    node_pid: int
    pid: int | None = None  # the litestream child
    restarts: int = 0
    db_txid: int = 0  # newest local Litestream transaction
    replica_txid: int = 0  # newest transaction known to be in the replica
    last_sync_at: float | None = None  # unix time the replica was last confirmed current
    lag_s: float = 0.0  # age of the oldest committed write not yet in the replica
    last_error: str | None = None  # litestream's own words; None once a sync succeeds again
    last_error_at: float | None = None
    errors: int = 0
    # What an admin should read: the error, or that the replica is falling behind.
    problem: str | None = None
    snapshots: int = 0  # forced snapshots (`cryb backup now`) completed
    # Media blobs (blobs.py): what is copied, and the copy passes so far.
    media: str = ""  # where blobs live, or why nothing is copied
    media_blobs: int = 0  # local blobs seen by the last pass
    media_copied: int = 0  # blobs copied to the target since the node started
    media_bytes: int = 0
    media_runs: int = 0  # passes completed (successful or not)
    media_last_run_at: float | None = None  # unix time the last successful pass finished
    media_pass_started_at: float | None = None  # unix time the last pass (any outcome) began
    media_pass_ended_at: float | None = None  # ... and ended
    media_error: str | None = None  # the last pass's error; None once a pass succeeds
    updated_at: float = 0.0


def parse_time(text: str) -> float | None:
    """Litestream's RFC 3339 times carry nanoseconds; Python reads at most microseconds."""
    try:
        head, _, frac = text.rstrip("Z").partition(".")
        stamp = head + ("." + frac[:6] if frac else "") + "+00:00"
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


class Progress:
    """What Litestream's log says, plus the node's own commit times: lag, errors, positions."""

    def __init__(self) -> None:
        self.db_txid = 0
        self.replica_txid = 0
        self.last_sync_at: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.errors = 0
        self.upload_attempts = 0  # PUTs since the last upload that went through
        self._look_started: float | None = None  # when Litestream's latest look at the WAL began
        self._cover_for: dict[int, float] = {}  # local txid -> the commits before this are in it
        self._pending: collections.deque[float] = collections.deque()  # unreplicated commit times

    def committed(self, at: float | None = None) -> None:
        at = time.time() if at is None else at
        if not self._pending or at - self._pending[-1] >= _COMMIT_RESOLUTION_S:
            self._pending.append(at)

    def lag(self, now: float | None = None) -> float:
        """0 exactly when every commit is in the replica (never rounds down to 0 otherwise)."""
        now = time.time() if now is None else now
        return max(0.001, now - self._pending[0]) if self._pending else 0.0

    def error(self, text: str, at: float | None = None) -> None:
        self.last_error = text[:1000]
        self.last_error_at = time.time() if at is None else at
        self.errors += 1

    def line(self, raw: str) -> None:
        """Take one line of Litestream's stderr."""
        raw = raw.strip()
        if not raw:
            return
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            # Plain text is how Litestream reports a fatal start-up error ("Error: ...").
            self.error(raw)
            return
        at = parse_time(str(entry.get("time", ""))) or time.time()
        msg = entry.get("msg")
        if entry.get("level") == "ERROR":
            self.error(f"{msg}: {entry.get('error', '')}".rstrip(": "), at)
            return
        if msg == "sync":
            # Litestream looks at the WAL ("sync", txid = the next transaction it would write).
            # The previous look has finished, so what was committed before it began is in the
            # newest local transaction: txid-1, whether that look found changes or none (an
            # empty commit writes no WAL frames).
            nxt = _hex(entry.get("txid"))
            if self._look_started is not None and nxt > 1:
                self._cover(nxt - 1, self._look_started)
            self._look_started = at
            self.db_txid = max(self.db_txid, nxt - 1)
        elif msg == "replica sync":
            txid = entry.get("txid") or {}
            self.db_txid = max(self.db_txid, _hex(txid.get("db")))
            self._shipped(_hex(txid.get("replica")), at)
        elif msg == "s3 request" and (entry.get("s3") or {}).get("method") == "PUT":
            self.upload_attempts += 1
        elif msg == "ltx file uploaded" and entry.get("level") == 0:
            self.upload_attempts = 0
            self._shipped(_hex(entry.get("maxTXID")), at)
        elif msg == "snapshot complete":
            self._shipped(_hex(entry.get("txid")), at)

    def shipped_all(self, before: float) -> None:
        """Litestream exited cleanly after a final sync that began at ``before``."""
        while self._pending and self._pending[0] <= before:
            self._pending.popleft()
        if not self._pending:
            self.last_sync_at = before

    def _cover(self, txid: int, until: float) -> None:
        self._cover_for[txid] = max(until, self._cover_for.get(txid, 0.0))
        self._apply_cover()

    def _shipped(self, txid: int, at: float) -> None:
        self.replica_txid = max(self.replica_txid, txid)
        self._apply_cover()
        if self.replica_txid >= self.db_txid:
            self.last_sync_at = at
            if self.last_error_at is not None and self.last_error_at <= at:
                self.last_error = None

    def _apply_cover(self) -> None:
        shipped = [t for t in self._cover_for if t <= self.replica_txid]
        if not shipped:
            return
        until = max(self._cover_for.pop(t) for t in shipped)
        while self._pending and self._pending[0] <= until:
            self._pending.popleft()


def _hex(value: object) -> int:
    try:
        return int(str(value), 16)
    except ValueError:
        return 0


class Replicator:
    """Owns the litestream child for one node: ``await start()``, ``await stop()``."""

    def __init__(
        self,
        cfg: ReplicationSection,
        db_path: Path,
        data_dir: Path,
        db: Database,
        media: blobs.Source | None = None,
        *,
        clock: Clock,
    ) -> None:
        self.cfg = cfg
        self.clock = clock
        self.db_path = db_path
        self.db = db
        self.work = litestream.work_dir(data_dir)
        self.socket = litestream.socket_path(data_dir)
        self.config_path = self.work / "litestream.yml"
        self.status_path = self.work / "status.json"
        self.progress = Progress()
        self.state: State = "starting"
        self.restarts = 0
        self.snapshots = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._snapshot_wanted = asyncio.Event()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self.media_source = media or blobs.Source("none")
        self.media = Status(state="starting", target="", node_pid=0)  # only the media_* fields
        self._media_task: asyncio.Task[None] | None = None
        self._media_wanted = asyncio.Event()

    # -- lifetime -------------------------------------------------------------------------------

    async def start(self) -> None:
        litestream.write_config(self.cfg, self.db_path, self.config_path, socket=self.socket)
        await self._checkpoints(False)
        self.db.on_commit.append(self._on_commit)
        self._task = asyncio.create_task(self._supervise(), name="cryb-litestream")
        self._writer_task = asyncio.create_task(self._write_status_loop(), name="cryb-litestream-status")
        if self._copies_media():
            self._media_task = asyncio.create_task(self._media_loop(), name="cryb-media-backup")
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.request_snapshot)

    async def stop(self) -> None:
        """Final sync, then stop the child. Call before the database closes."""
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        # Writes still queued are committed first, so the final sync ships them too.
        await self.db.run_in_writer(lambda conn: None)
        # Nothing but our own (empty) pragma writes commits from here on.
        with contextlib.suppress(ValueError):
            self.db.on_commit.remove(self._on_commit)
        self._stopping.set()
        asked = time.time()
        errors = self.progress.errors
        if await self._terminate_child() == 0 and self.progress.errors == errors:
            self.progress.shipped_all(asked)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._media_task is not None:
            self._media_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._media_task
        if self._writer_task is not None:
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
        await self._checkpoints(True)
        self.state = "stopped"
        self._write_status()

    def request_snapshot(self) -> None:
        """Stop the child after a sync, take a full snapshot, start it again (`cryb backup now`)."""
        self._snapshot_wanted.set()
        self._media_wanted.set()
        asyncio.get_running_loop().create_task(self._terminate_child())

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> Status:
        p = self.progress
        lag = p.lag()
        problem = p.last_error
        if problem is None and lag > max(STALL_AFTER_S, 3 * self.cfg.sync_interval_s):
            tries = f" ({p.upload_attempts} upload attempts)" if p.upload_attempts else ""
            problem = f"replica is {lag:.0f}s behind: writes are not getting through to the target{tries}"
        if problem is None and self.state != "running":
            problem = f"litestream is {self.state}"
        m = self.media
        if problem is None and m.media_error:
            problem = m.media_error
        return Status(
            state=self.state,
            target=litestream.target_description(self.cfg),
            node_pid=os.getpid(),
            pid=self._proc.pid if self._proc is not None and self._proc.returncode is None else None,
            restarts=self.restarts,
            db_txid=p.db_txid,
            replica_txid=p.replica_txid,
            last_sync_at=p.last_sync_at,
            lag_s=round(lag, 3),
            last_error=p.last_error,
            last_error_at=p.last_error_at,
            errors=p.errors,
            problem=problem,
            snapshots=self.snapshots,
            media=self._media_note(),
            media_blobs=m.media_blobs,
            media_copied=m.media_copied,
            media_bytes=m.media_bytes,
            media_runs=m.media_runs,
            media_last_run_at=m.media_last_run_at,
            media_pass_started_at=m.media_pass_started_at,
            media_pass_ended_at=m.media_pass_ended_at,
            media_error=m.media_error,
            updated_at=time.time(),
        )

    def readiness(self) -> tuple[bool, str]:
        st = self.status()
        where = f"{st.state}, lag {st.lag_s:.1f}s, replica txid {st.replica_txid}, restarts {st.restarts}"
        if st.problem:
            return False, f"{where}; {st.problem}"
        return True, where

    def _write_status(self) -> None:
        tmp = self.status_path.with_suffix(".tmp")
        try:
            tmp.write_bytes(msgspec.json.encode(self.status()))
            os.replace(tmp, self.status_path)
        except OSError as err:
            log.warning("cannot write replication status: %s", err)

    async def _write_status_loop(self) -> None:
        while True:
            self._write_status()
            await asyncio.sleep(1.0)

    # -- media blobs ----------------------------------------------------------------------------

    def _copies_media(self) -> bool:
        return self.media_source.mode == "local" and blobs.supported(self.cfg)

    def _media_note(self) -> str:
        if self.media_source.mode == "local" and not blobs.supported(self.cfg):
            return f"media blobs are not copied to {self.cfg.type} targets (only file and s3)"
        return self.media_source.note

    async def media_pass(self) -> None:
        """Copy the blobs the target lacks (in a thread: listing and uploads block)."""
        m = self.media
        m.media_pass_started_at = time.time()
        try:
            done = await asyncio.to_thread(blobs.push, self.cfg, Path(self.media_source.root))
        except blobs.MediaBackupError as err:
            m.media_error = str(err)
            log.warning("media backup pass failed: %s", err)
        else:
            m.media_blobs = done.blobs
            m.media_copied += done.copied
            m.media_bytes += done.bytes
            m.media_last_run_at = time.time()
            m.media_error = None
            if done.copied:
                log.info(
                    "media blobs copied to the replica",
                    extra={"fields": {"blobs": done.copied, "bytes": done.bytes, "seconds": done.seconds}},
                )
        m.media_runs += 1
        m.media_pass_ended_at = time.time()
        self._write_status()

    async def _media_loop(self) -> None:
        every = blobs.interval_s(self.cfg)
        while True:
            self._media_wanted.clear()
            await self.media_pass()
            # A failed pass is retried sooner: the error stays in status until one succeeds.
            wait = min(every, MEDIA_RETRY_S) if self.media.media_error else every
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._media_wanted.wait(), wait)

    def _on_commit(self, committed: bool) -> None:
        if committed:
            self.progress.committed()

    # -- the child ------------------------------------------------------------------------------

    async def _checkpoints(self, enabled: bool) -> None:
        try:
            await self.db.set_checkpoints(enabled)
        except Exception as err:  # the database may be closing; the next start sets it again
            log.warning("cannot turn the node's checkpoints %s: %s", "on" if enabled else "off", err)

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            if self._snapshot_wanted.is_set():
                await self._force_snapshot()
            started = self.clock.monotonic()
            code = await self._run_child()
            if self._stopping.is_set():
                break
            if self._snapshot_wanted.is_set():
                continue  # we stopped it on purpose
            lived = self.clock.monotonic() - started
            failures = 1 if lived >= HEALTHY_AFTER_S else failures + 1
            tail = " | ".join(list(self._stderr_tail)[-3:])
            reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            stopped = f"litestream stopped ({reason})"
            self.progress.error(f"{stopped}: {tail}" if tail else stopped)
            self.state = "restarting"
            self.restarts += 1
            delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (failures - 1))
            log.warning(
                "litestream exited; restarting",
                extra={"fields": {"reason": reason, "restart_in_s": delay, "restarts": self.restarts}},
            )
            self._write_status()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        self.state = "stopped"

    async def _run_child(self) -> int | None:
        try:
            exe = litestream.binary(self.cfg)
            self._proc = await asyncio.create_subprocess_exec(
                exe,
                "replicate",
                "-no-expand-env",
                "-config",
                str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=litestream.child_env(self.cfg),
                # Its own session, so a Ctrl-C meant for the node does not skip our ordered stop;
                # and it dies with us, so a SIGKILLed node leaves no orphan replicating old files.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except (OSError, litestream.LitestreamError) as err:
            self.progress.error(f"cannot start litestream: {err}")
            return 127
        self.state = "running"
        log.info("litestream started", extra={"fields": {"pid": self._proc.pid}})
        assert self._proc.stderr is not None
        async for raw in self._proc.stderr:
            text = raw.decode("utf-8", "replace")
            self._stderr_tail.append(text.strip()[:300])
            self.progress.line(text)
            if '"level":"ERROR"' in text or not text.startswith("{"):
                log.warning("litestream: %s", text.strip()[:500])
        return await self._proc.wait()

    async def _terminate_child(self) -> int | None:
        """SIGTERM the child (it syncs once more before it exits); its exit code."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return None
        proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            log.error("litestream did not stop after SIGTERM; killing it")
            proc.kill()
            return await proc.wait()

    async def _force_snapshot(self) -> None:
        exe = litestream.binary(self.cfg)
        proc = await asyncio.create_subprocess_exec(
            exe,
            "replicate",
            "-no-expand-env",
            "-config",
            str(self.config_path),
            "-once",
            "-force-snapshot",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=litestream.child_env(self.cfg),
        )
        _, err = await proc.communicate()
        for line in err.decode("utf-8", "replace").splitlines():
            self.progress.line(line)
        if proc.returncode == 0:
            self.snapshots += 1
        else:
            self.progress.error(f"forced snapshot failed: {litestream.error_text(err.decode())}")
        self._snapshot_wanted.clear()
        self._write_status()


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM it when the node dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def read_status(data_dir: Path) -> Status | None:
    """The status the running (or last) node wrote, for `cryb backup status`."""
    path = litestream.work_dir(data_dir) / "status.json"
    try:
        return msgspec.json.decode(path.read_bytes(), type=Status)
    except (OSError, msgspec.DecodeError):
        return None


def node_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
