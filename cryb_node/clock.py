"""Hybrid logical clock (48-bit milliseconds, 16-bit counter) and time-sortable identifiers."""

from __future__ import annotations

import os
import threading
import time

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
# A remote timestamp further ahead of our wall clock than this is refused rather than followed.
MAX_DRIFT_MS = 60_000


class ClockDrift(ValueError):
    pass


def pack(ms: int, counter: int) -> int:
    return (ms << COUNTER_BITS) | counter


def wall_ms(hlc: int) -> int:
    return hlc >> COUNTER_BITS


class HLC:
    """Strictly increasing timestamps; thread-safe (ticked in the writer thread, read anywhere)."""

    def __init__(self, last: int = 0, now_ms=lambda: time.time_ns() // 1_000_000) -> None:
        self._last = last
        self._now_ms = now_ms
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        return self._last

    def tick(self) -> int:
        with self._lock:
            now = pack(self._now_ms(), 0)
            self._last = now if now > self._last else self._last + 1
            return self._last

    def observe(self, remote: int) -> int:
        """Merge a timestamp seen on a remote event; refuses one too far in the future."""
        with self._lock:
            if wall_ms(remote) - self._now_ms() > MAX_DRIFT_MS:
                raise ClockDrift(f"remote clock is {wall_ms(remote) - self._now_ms()} ms ahead")
            self._last = max(self._last, remote)
            return self._last


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


_id_lock = threading.Lock()
_id_last = 0


def new_id() -> str:
    """A 26-character ULID-style id: 48-bit milliseconds then 80 random bits, Crockford base32.

    Unique across nodes without coordination and sorted by creation time. Monotonic within the
    process: an id made in the same millisecond as the previous one is that one plus one, so two
    messages posted in one millisecond still sort in the order they were made.
    """
    global _id_last
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        if value >> 80 <= _id_last >> 80:
            value = _id_last + 1
        _id_last = value
    out = []
    for _ in range(26):
        out.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000
