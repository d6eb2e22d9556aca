"""Failed sign-in tracking per account and per client address: slow down, then lock out.

Counts live in memory (one process serves the node) and are saved to SQLite in batches once a store
is attached (cryb_node/http/ratestore.py), so a restart neither lifts a lockout nor forgets
failures; times are wall-clock seconds (the node's clock) for that reason. Every lockout and
refusal is also audited. Keys are opaque strings ("acct:<id or login>", "ip:<address>"), so an
unknown login is throttled exactly like a real one and the responses never tell whether an account
exists.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from cryb_node.http.ratestore import ExpiringStore

from .schemas import Settings


class Throttle:
    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.s = settings
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._store: ExpiringStore | None = None

    async def attach(self, store: ExpiringStore) -> None:
        """Take up the failures and lockouts saved before a restart; save changes from now on."""
        now = self._clock()
        for key, (failures, locked_until) in (await store.load()).items():
            if locked_until > now:
                self._locked_until[key] = locked_until
            recent = deque(t for t in failures if t > now - self.s.failure_window_s)
            if recent:
                self._failures[key] = recent
        self._store = store
        store.start()

    async def detach(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None

    def _save(self, key: str) -> None:
        if self._store is None:
            return
        failures = list(self._failures.get(key, ()))
        locked_until = self._locked_until.get(key, 0.0)
        expires = max(locked_until, failures[-1] + self.s.failure_window_s if failures else 0.0)
        if expires > self._clock():
            self._store.put(key, (failures, locked_until), expires)
        else:
            self._store.delete(key)

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
        locked = len(q) >= limit
        if locked:
            self._locked_until[key] = now + self.s.lockout_s
            del self._failures[key]
        self._save(key)
        return locked

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)
        self._locked_until.pop(key, None)
        self._save(key)

    def sweep(self) -> None:
        now = self._clock()
        for k in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[k]
        for k in list(self._failures):
            self._recent(k, now)
