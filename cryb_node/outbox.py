"""Retry machinery shared by the node's outboxes (notification mail and push, outgoing webhooks):
exponential backoff with a ceiling and a give-up count, and a circuit breaker per destination.

Each outbox keeps its own durable table (rows written in the transaction that made them, so a
restart loses nothing) and its own sender; what a failed attempt means for the row is decided here,
once, so every outbox backs off the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float  # the first retry waits this long ...
    max_s: float  # ... doubling per failure up to this
    max_attempts: int  # after this many failed attempts the row is given up

    def after_failure(self, attempts: int, now_ms: int) -> tuple[int, int, bool]:
        """(attempts, next_at in ms, give_up) after one more failed attempt."""
        attempts += 1
        delay_ms = int(min(self.max_s, self.base_s * 2 ** (attempts - 1)) * 1000)
        return attempts, now_ms + delay_ms, attempts >= self.max_attempts


class Breaker:
    """Closed -> (threshold failures in a row) -> open for cooldown -> one trial -> closed or open."""

    def __init__(self, threshold: int, cooldown_ms: int) -> None:
        self.threshold, self.cooldown_ms = threshold, cooldown_ms
        self.failures = 0
        self.open_until = 0

    def allows(self, now: int) -> bool:
        return self.failures < self.threshold or now >= self.open_until

    def failed(self, now: int) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = now + self.cooldown_ms

    def succeeded(self) -> None:
        self.failures = 0
        self.open_until = 0

    @property
    def state(self) -> str:
        return "closed" if self.failures < self.threshold else "open"
