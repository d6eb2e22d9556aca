"""Failed sign-in tracking per account and per client address: slow down, then lock out.

Counts live in memory (one process serves the node); every lockout and refusal is also audited.
Keys are opaque strings ("acct:<id or login>", "ip:<address>"), so an unknown login is throttled
exactly like a real one and the responses never tell whether an account exists.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from .schemas import Settings


class Throttle:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.s = settings
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.s.failure_window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def locked_for(self, *keys: str) -> float:
        """Seconds until the longest lock among ``keys`` ends (0: not locked)."""
        now = self._clock()
        return max((self._locked_until.get(k, 0.0) - now for k in keys), default=0.0) if keys else 0.0

    def delay(self, *keys: str) -> float:
        """How long to wait before checking the password: doubles per failure past slowdown_after."""
        now = self._clock()
        worst = max(len(self._recent(k, now)) for k in keys)
        over = worst - self.s.slowdown_after
        if over < 0:
            return 0.0
        return min(self.s.slowdown_ms * (2**over), 4000) / 1000

    def fail(self, key: str, limit: int) -> bool:
        """Count a failure; True when it starts a lockout."""
        now = self._clock()
        q = self._recent(key, now)
        q.append(now)
        self._failures[key] = q
        if len(q) >= limit:
            self._locked_until[key] = now + self.s.lockout_s
            del self._failures[key]
            return True
        return False

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)

    def sweep(self) -> None:
        now = self._clock()
        for k in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[k]
        for k in list(self._failures):
            self._recent(k, now)
