"""Long data migrations, done in the background in batches while the node serves.

A schema migration (migrations/*.sql) must be quick: it runs before the node serves. Work over many
rows (filling a new column, re-rendering stored HTML) is a Backfill instead: its ``step(conn)`` handles
one batch inside one write transaction and returns how many rows it changed, 0 when nothing is left.
Progress commits with each batch, so a restart resumes where it stopped; /readyz shows what is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from cryb_node.clock import Clock
from cryb_node.db import Connection, Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backfill:
    name: str
    step: Callable[[Connection], int]
    pause_s: float = 0.05  # between batches, so serving writes always get their turn


@dataclass
class Backfills:
    db: Database
    clock: Clock
    jobs: list[Backfill] = field(default_factory=list)
    progress: dict[str, int] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.jobs:
            self._task = asyncio.create_task(self._run(), name="backfills")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def running(self) -> list[str]:
        return [job.name for job in self.jobs if job.name in self.progress]

    async def _run(self) -> None:
        for job in self.jobs:
            finished = await self.db.fetchval("SELECT finished_at FROM backfills WHERE name = ?", (job.name,))
            if finished is not None:
                continue
            self.progress[job.name] = await self.db.fetchval(
                "SELECT rows FROM backfills WHERE name = ?", (job.name,), default=0
            )
            log.info("backfill started", extra={"fields": {"backfill": job.name}})
            while True:
                done = await self.db.write(functools.partial(_batch, job=job, clock=self.clock))
                self.progress[job.name] += done
                if done == 0:
                    break
                await asyncio.sleep(job.pause_s)
            del self.progress[job.name]
            log.info("backfill finished", extra={"fields": {"backfill": job.name}})


def _batch(conn: Connection, job: Backfill, clock: Clock) -> int:
    now = int(clock.time())
    conn.execute("INSERT OR IGNORE INTO backfills (name, started_at) VALUES (?, ?)", (job.name, now))
    done = job.step(conn)
    if done:
        conn.execute("UPDATE backfills SET rows = rows + ? WHERE name = ?", (done, job.name))
    else:
        conn.execute("UPDATE backfills SET finished_at = ? WHERE name = ?", (now, job.name))
    return done
