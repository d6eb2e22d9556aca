"""Members' own data exports: one background job per request, built off the request by a runner the
plugin's lifespan owns, one export at a time (each reads everything a member ever wrote), into a ZIP
in the data dir that only its owner may download and that is deleted when it expires.

Every plugin writes its own part through the ``export_user`` hook; this module only orders the
parts, records progress, and owns the files' lifetime. A run cut short by a restart is run again
(up to ``MAX_ATTEMPTS`` times, then marked failed), and an erased account's exports go with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from cryb_node.clock import new_id
from cryb_node.db import Connection
from cryb_node.events import Event
from cryb_node.export import ExportSink, Progress
from cryb_node.problems import Problem, not_found
from cryb_node.services import ServiceKey

from . import export_data
from .events import ERASED

if TYPE_CHECKING:
    from cryb_node.node import Node

    from .service import Client, Users

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
IDLE_POLL_S = 30.0  # the runner also looks for queued exports this often (another process's)
HISTORY_S = 90 * 86_400  # finished, failed and expired exports are forgotten after this long
_COLUMNS = "id, user_id, state, progress, items, step, size, error, created_at, finished_at, expires_at"


class ExportStatus(msgspec.Struct, kw_only=True):
    id: str
    state: str  # queued | running | ready | failed | expired
    progress: float  # 0..1
    items: int  # records and files written so far
    step: str  # the part being written while running
    created_at: int  # unix seconds
    finished_at: int | None
    expires_at: int | None  # when a ready ZIP is deleted
    size: int | None  # bytes of the ZIP once ready
    download_url: str | None  # while ready: GET it (as the owner) for the ZIP
    error: str | None = None


def download_path(export_id: str) -> str:
    return f"/api/v1/users/@me/export/{export_id}/download"


def _status(r: Any) -> ExportStatus:
    ready = r["state"] == "ready"
    return ExportStatus(
        id=r["id"], state=r["state"], progress=1.0 if ready else r["progress"], items=r["items"],
        step=r["step"], created_at=r["created_at"], finished_at=r["finished_at"],
        expires_at=r["expires_at"] if ready else None, size=r["size"],
        download_url=download_path(r["id"]) if ready else None, error=r["error"],
    )  # fmt: skip


class Exporter:
    def __init__(self, node: Node, users: Users) -> None:
        self.node = node
        self.users = users
        self.dir = node.data_dir / "exports"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._current: tuple[str, str, asyncio.Task[None]] | None = None  # (export, user, build)
        self._unlisten: Callable[[], None] | None = None
        self._chores: set[asyncio.Task[None]] = set()

    def now(self) -> int:
        # Expiry and the interval between requests are judged by the node's clock (tests move it).
        return int(self.node.clock.time())

    def path(self, export_id: str, part: bool = False) -> Path:
        return self.dir / (f"{export_id}.zip.part" if part else f"{export_id}.zip")

    # -- lifetime (the users plugin's lifespan, while the node serves) ---------------------------

    async def start(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        await self._recover()
        self._unlisten = self.node.bus.listen(self._on_events)
        self._task = asyncio.create_task(self._run(), name="users-exports")

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
        for task in [self._task, *self._chores]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None

    async def _recover(self) -> None:
        """An export left running by a stopped node runs again (its partial file is thrown away),
        unless it already failed to finish MAX_ATTEMPTS times."""

        def write(conn: Connection) -> list[str]:
            rows = conn.execute("SELECT id, attempts FROM users_exports WHERE state = 'running'").fetchall()
            for r in rows:
                if r["attempts"] >= MAX_ATTEMPTS:
                    conn.execute(
                        "UPDATE users_exports SET state = 'failed', error = ?, finished_at = ? WHERE id = ?",
                        ("the node stopped while preparing it, too often", self.now(), r["id"]),
                    )
                else:
                    conn.execute(
                        "UPDATE users_exports SET state = 'queued', progress = 0, items = 0, step = ''"
                        " WHERE id = ?",
                        (r["id"],),
                    )
            return [r["id"] for r in rows]

        for export_id in await self.node.db.write(write):
            await asyncio.to_thread(self.path(export_id, part=True).unlink, True)
            log.info("export %s was interrupted by a restart", export_id)

    # -- what the routes call --------------------------------------------------------------------

    async def request(self, user_id: str, client: Client) -> tuple[ExportStatus, bool]:
        """Queue an export of ``user_id``'s data; an unfinished one is returned instead (False)."""
        now, interval = self.now(), self.users.s.export_interval_s

        def write(conn: Connection) -> tuple[Any, bool]:
            latest = conn.execute(
                f"SELECT {_COLUMNS} FROM users_exports WHERE user_id = ? ORDER BY id DESC LIMIT 1",
                (user_id,),
            ).fetchone()
            if latest is not None and latest["state"] in ("queued", "running"):
                return latest, False
            if latest is not None and latest["state"] != "failed" and now < latest["created_at"] + interval:
                wait = latest["created_at"] + interval - now
                raise Problem(
                    "export_too_soon", 429, f"you can ask for a new export in {wait} s",
                    headers={"Retry-After": str(wait)},
                )  # fmt: skip
            export_id = new_id()
            conn.execute(
                "INSERT INTO users_exports (id, user_id, state, created_at) VALUES (?, ?, 'queued', ?)",
                (export_id, user_id, now),
            )
            self.users.audit(conn, "export.requested", client, user_id=user_id, export_id=export_id)
            row = conn.execute(f"SELECT {_COLUMNS} FROM users_exports WHERE id = ?", (export_id,)).fetchone()
            return row, True

        row, created = await self.node.db.write(write)
        if created:
            self._wake.set()
        return _status(row), created

    async def latest(self, user_id: str) -> ExportStatus:
        row = await self.node.db.fetchone(
            f"SELECT {_COLUMNS} FROM users_exports WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,)
        )
        if row is None:
            raise Problem("not_found", 404, "you have not asked for an export yet")
        return _status(row)

    async def file(self, user_id: str, export_id: str, client: Client) -> Path:
        """The owner's ready ZIP; 404 for anyone else (admins too: it holds the owner's DMs)."""
        row = await self.node.db.fetchone(
            f"SELECT {_COLUMNS} FROM users_exports WHERE id = ? AND user_id = ?", (export_id, user_id)
        )
        if row is None:
            raise not_found("export")
        if row["state"] == "expired" or (row["state"] == "ready" and row["expires_at"] <= self.now()):
            raise Problem("export_expired", 410, "this export has expired: ask for a new one")
        if row["state"] != "ready":
            raise Problem("export_not_ready", 409, f"this export is {row['state']}, not ready")
        path = self.path(export_id)
        if not await asyncio.to_thread(path.is_file):
            raise Problem("export_expired", 410, "this export's file is gone: ask for a new one")
        await self.node.db.write(
            lambda conn: self.users.audit(
                conn, "export.downloaded", client, user_id=user_id, export_id=export_id
            )
        )
        return path

    # -- the runner ------------------------------------------------------------------------------

    async def _run(self) -> None:
        # Exports read the other plugins' services: wait until every part of the node has started.
        await self.node.started.wait()
        while True:
            self._wake.clear()  # before claiming: a request queued after this wakes the wait below
            claimed = await self.node.db.write(self._claim)
            if claimed is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
                continue
            export_id, user_id = claimed
            build = asyncio.create_task(self._build(export_id, user_id), name=f"export-{export_id}")
            self._current = (export_id, user_id, build)
            try:
                # wait(), not await: an erasure cancelling the build must not stop the runner.
                await asyncio.wait([build])
            except asyncio.CancelledError:  # the node stops: the build stops and waits for the next start
                build.cancel()
                await asyncio.wait([build])
                await self._requeue(export_id)
                raise
            finally:
                self._current = None
            if not build.cancelled() and build.exception() is not None:
                log.error("export %s: the runner failed", export_id, exc_info=build.exception())

    async def _requeue(self, export_id: str) -> None:
        await self.node.db.write(
            lambda conn: conn.execute(
                "UPDATE users_exports SET state = 'queued', attempts = attempts - 1, progress = 0, items = 0,"
                " step = '' WHERE id = ? AND state = 'running'",
                (export_id,),
            )
        )

    def _claim(self, conn: Connection) -> tuple[str, str] | None:
        # An account erased by another process (the CLI) is skipped; the expiry job forgets its rows.
        row = conn.execute(
            "SELECT e.id, e.user_id FROM users_exports e JOIN users_accounts a ON a.id = e.user_id"
            " WHERE e.state = 'queued' AND a.status != 'deleted' ORDER BY e.id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        conn.execute(
            "UPDATE users_exports SET state = 'running', started_at = ?, attempts = attempts + 1"
            " WHERE id = ?",
            (self.now(), row["id"]),
        )
        return row["id"], row["user_id"]

    async def _build(self, export_id: str, user_id: str) -> None:
        part, final = self.path(export_id, part=True), self.path(export_id)
        plugins = [lp.plugin for lp in self.node.plugins]

        async def progress(p: Progress) -> None:
            await self.node.db.write(
                lambda conn: conn.execute(
                    "UPDATE users_exports SET progress = ?, items = ?, step = ?"
                    " WHERE id = ? AND state = 'running'",
                    (round(p.fraction * 0.99, 4), p.items, p.part, export_id),
                )
            )

        sink = ExportSink(part, user_id, parts=len(plugins), on_progress=progress)
        try:
            await sink.open()
            for plugin in plugins:
                await sink.begin_part(plugin.name)
                await plugin.export_user(self.node, user_id, sink)
                await sink.end_part()
            await export_data.finish(self.users, sink)
            await sink.close()
            size = (await asyncio.to_thread(part.stat)).st_size
            await asyncio.to_thread(part.replace, final)
        except asyncio.CancelledError:
            await sink.abort()
            raise
        except Exception as err:
            await sink.abort()
            if not self.node.started.is_set():  # the node is stopping under it: run it after the restart
                await self._requeue(export_id)
                return
            log.exception("export %s failed", export_id)
            error = f"the export could not be prepared ({type(err).__name__}); ask for a new one"
            await self._finish(export_id, "failed", error=error)
            return
        if not await self._finish(export_id, "ready", size=size, items=sink.progress.items):
            await asyncio.to_thread(final.unlink, True)  # erased (or expired) while it was built

    async def _finish(self, export_id: str, state: str, **values: Any) -> bool:
        now = self.now()
        expires = now + self.users.s.export_ttl_s if state == "ready" else None

        def write(conn: Connection) -> bool:
            cur = conn.execute(
                "UPDATE users_exports SET state = ?, finished_at = ?, expires_at = ?, size = ?, error = ?,"
                " progress = CASE WHEN ? = 'ready' THEN 1 ELSE progress END, items = coalesce(?, items),"
                " step = '' WHERE id = ? AND state = 'running'",
                (state, now, expires, values.get("size"), values.get("error"), state, values.get("items"),
                 export_id),
            )  # fmt: skip
            return cur.rowcount == 1

        return await self.node.db.write(write)

    # -- expiry and erasure ----------------------------------------------------------------------

    async def expire(self) -> int:
        """The scheduled job: delete ZIPs past their time, and any file no ready export owns (a
        build cut short, an erased account's). Returns how many files it deleted."""
        now = self.now()

        def write(conn: Connection) -> set[str]:
            conn.execute(
                "UPDATE users_exports SET state = 'expired' WHERE state = 'ready' AND expires_at <= ?", (now,)
            )
            # Exports of accounts erased elsewhere (the CLI's process) go with the account.
            conn.execute(
                "DELETE FROM users_exports WHERE user_id IN (SELECT id FROM users_accounts"
                " WHERE status = 'deleted')"
            )
            conn.execute(
                "DELETE FROM users_exports WHERE state IN ('expired', 'failed') AND created_at < ?",
                (now - HISTORY_S,),
            )
            return {r["id"] for r in conn.execute("SELECT id FROM users_exports WHERE state = 'ready'")}

        keep = await self.node.db.write(write)
        if self._current is not None:
            keep.add(self._current[0])
        return await asyncio.to_thread(self._sweep, keep)

    def _sweep(self, keep: set[str]) -> int:
        gone = 0
        for path in self.dir.glob("*.zip*"):
            if path.name.split(".", 1)[0] not in keep:
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    def _on_events(self, events: list[Event]) -> None:
        for ev in events:
            if ev.kind == ERASED and ev.body.target:
                task = asyncio.get_running_loop().create_task(self.forget(ev.body.target))
                self._chores.add(task)
                task.add_done_callback(self._chores.discard)

    async def forget(self, user_id: str) -> None:
        """An erased account's exports go at once: a build under way stops, files and rows go."""
        current = self._current
        if current is not None and current[1] == user_id:
            current[2].cancel()
        rows = await self.node.db.write(
            lambda conn: conn.execute(
                "DELETE FROM users_exports WHERE user_id = ? RETURNING id", (user_id,)
            ).fetchall()
        )
        for r in rows:
            await asyncio.to_thread(self.path(r["id"]).unlink, True)
            await asyncio.to_thread(self.path(r["id"], part=True).unlink, True)


EXPORTER: ServiceKey[Exporter] = ServiceKey("users.exports")
