"""Counters that must outlive a restart (rate-limit windows, sign-in failures and lockouts), kept in
the core table ``rate_state`` with an expiry.

The hot path never waits on SQLite: the owner keeps its counters in memory and ``put``s what
changed; a background task writes the changes of the last ``flush_s`` seconds in one transaction
(the last value per key wins), deletes expired rows, and writes once more when the store closes.
A crash loses at most ``flush_s`` seconds of counting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import msgspec

from cryb_node.db import Database

log = logging.getLogger(__name__)

_DELETE = object()


class ExpiringStore:
    """One owner's rows of ``rate_state``, under ``scope`` ("ratelimit", "<plugin>.<name>")."""

    def __init__(self, db: Database, scope: str, flush_s: float = 1.0, clock=time.time) -> None:
        self.db = db
        self.scope = scope
        self.flush_s = flush_s
        self._clock = clock
        self._dirty: dict[str, tuple[Any, float] | object] = {}
        self._task: asyncio.Task[None] | None = None

    async def load(self) -> dict[str, Any]:
        """The unexpired values, by key."""
        rows = await self.db.fetchall(
            "SELECT key, value FROM rate_state WHERE scope = ? AND expires_at > ?",
            (self.scope, self._clock()),
        )
        return {key: msgspec.json.decode(value) for key, value in rows}

    def put(self, key: str, value: Any, expires_at: float) -> None:
        self._dirty[key] = (value, expires_at)

    def delete(self, key: str) -> None:
        self._dirty[key] = _DELETE

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
            except Exception:
                log.exception("could not save rate-limit state", extra={"fields": {"scope": self.scope}})

    async def flush(self) -> None:
        if not self._dirty:
            return
        batch, self._dirty = self._dirty, {}
        now = self._clock()
        puts = [
            (self.scope, key, msgspec.json.encode(entry[0]), entry[1])
            for key, entry in batch.items()
            if isinstance(entry, tuple) and entry[1] > now
        ]
        gone = [(self.scope, key) for key, entry in batch.items() if entry is _DELETE]

        def write(conn: Any) -> None:
            conn.executemany(
                "INSERT INTO rate_state (scope, key, value, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT"
                " (scope, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                puts,
            )
            conn.executemany("DELETE FROM rate_state WHERE scope = ? AND key = ?", gone)
            conn.execute("DELETE FROM rate_state WHERE scope = ? AND expires_at <= ?", (self.scope, now))

        await self.db.write(write)
