"""Rate limits per route bucket and per caller (user id, else client address), fixed windows.

Headers follow Discord's convention: X-RateLimit-Limit, -Remaining, -Reset (epoch seconds),
-Reset-After (seconds) and -Bucket on every limited response, plus Retry-After on a 429.

Windows are counted in memory and saved through an ExpiringStore (ratestore.py) once attached, so
a restart does not reset them. With edges (cryb_node/scale/) every process of the node counts every
other's hits too (``share_through``): a caller who switches edges finds the same window.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from cryb_node.config import RateLimitSection, RateRule
from cryb_node.http.ratestore import ExpiringStore
from cryb_node.problems import Problem

if TYPE_CHECKING:
    from cryb_node.signals import Signals

SHARED = "ratelimit.hits"  # node.signals topic: [[bucket, caller, window start, hits], ...]
# Hits are gathered this long before they go to the other processes: one message per burst, not per
# request. A caller alternating edges faster than this may get a few extra requests through.
SHARE_EVERY_S = 0.005


@dataclass(slots=True)
class _Window:
    start: float
    count: int


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    bucket: str
    limit: int
    remaining: int
    reset_at: float
    reset_after: float

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{self.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.reset_after)))
        return out

    def problem(self) -> Problem:
        return Problem(
            "rate_limited",
            429,
            f"too many requests in bucket {self.bucket}; retry in {self.reset_after:.1f}s",
            headers=self.headers(),
        )


class RateLimiter:
    def __init__(self, config: RateLimitSection, clock=time.time) -> None:
        self.config = config
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._next_sweep = 0.0
        self._store: ExpiringStore | None = None
        self._signals: Signals | None = None
        self._unshared: dict[tuple[str, str], list[float]] = {}  # key -> [window start, hits]

    def share_through(self, signals: Signals) -> None:
        """Count the hits of the node's other processes (they arrive over ``signals``) and tell them
        this one's. Without other processes (no signals transport) nothing is sent."""
        self._signals = signals
        signals.subscribe(SHARED, self._merge)

    async def attach(self, store: ExpiringStore) -> None:
        """Take up the windows saved before a restart, and save changes from now on."""
        now = self._clock()
        for key, (start, count) in (await store.load()).items():
            bucket, _, caller = key.partition(" ")
            if now < start + self.rule(bucket).window_s:
                self._windows[(bucket, caller)] = _Window(start, count)
        self._store = store
        store.start()

    async def detach(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    def rule(self, bucket: str) -> RateRule:
        return self.config.buckets.get(bucket, self.config.default)

    def hit(self, bucket: str, caller: str) -> Verdict:
        now = self._clock()
        rule = self.rule(bucket)
        self._sweep(now)
        key = (bucket, caller)
        win = self._windows.get(key)
        if win is None or now >= win.start + rule.window_s:
            win = self._windows[key] = _Window(now, 0)
        reset_at = win.start + rule.window_s
        allowed = win.count < rule.limit
        if allowed:
            win.count += 1
            if self._store is not None:
                self._store.put(f"{bucket} {caller}", (win.start, win.count), reset_at)
            if self._signals is not None and self._signals.transport is not None:
                self._share(key, win.start)
        return Verdict(allowed, bucket, rule.limit, max(0, rule.limit - win.count), reset_at, reset_at - now)

    def _share(self, key: tuple[str, str], start: float) -> None:
        pending = self._unshared.get(key)
        if pending is None or pending[0] != start:
            if not self._unshared:
                asyncio.get_running_loop().call_later(SHARE_EVERY_S, self._send)
            pending = self._unshared[key] = [start, 0]
        pending[1] += 1

    def _send(self) -> None:
        hits = [[bucket, caller, start, n] for (bucket, caller), (start, n) in self._unshared.items()]
        self._unshared.clear()
        if hits and self._signals is not None:
            self._signals.publish(SHARED, msgspec.msgpack.encode(hits))

    def _merge(self, payload: bytes) -> None:
        """Another process's hits: added to this one's window for the same bucket and caller, or
        opening it where this process has none running (so the window ends where theirs does)."""
        try:
            hits = msgspec.msgpack.decode(payload, type=list[tuple[str, str, float, int]])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        now = self._clock()
        for bucket, caller, start, n in hits:
            rule = self.rule(bucket)
            if n <= 0 or now >= start + rule.window_s:
                continue
            key = (bucket, caller)
            win = self._windows.get(key)
            if win is None or now >= win.start + rule.window_s:
                win = self._windows[key] = _Window(start, 0)
            win.count += n
            if self._store is not None:
                self._store.put(f"{bucket} {caller}", (win.start, win.count), win.start + rule.window_s)

    def _sweep(self, now: float) -> None:
        # Forget finished windows now and then so idle callers cost no memory.
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        longest = max([self.config.default.window_s, *(r.window_s for r in self.config.buckets.values())])
        stale = [k for k, w in self._windows.items() if now - w.start > longest]
        for k in stale:
            del self._windows[k]
