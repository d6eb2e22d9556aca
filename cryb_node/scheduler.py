"""Scheduled jobs: plugins declare them, one APScheduler instance runs them while the node serves."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], Awaitable[None]]
    trigger: BaseTrigger


class Scheduler:
    def __init__(self) -> None:
        self._jobs: list[Job] = []
        self._aps: AsyncIOScheduler | None = None
        self.runs: dict[str, int] = {}

    def add(self, job: Job) -> None:
        if any(j.name == job.name for j in self._jobs):
            raise ValueError(f"job name {job.name!r} is taken")
        self._jobs.append(job)

    def _wrap(self, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            try:
                await job.func()
            except Exception:
                log.exception("scheduled job %s failed", job.name)
            finally:
                self.runs[job.name] = self.runs.get(job.name, 0) + 1

        return run

    def start(self) -> None:
        self._aps = AsyncIOScheduler(timezone="UTC")
        for job in self._jobs:
            self._aps.add_job(self._wrap(job), job.trigger, id=job.name, coalesce=True, max_instances=1)
        self._aps.start()

    def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
