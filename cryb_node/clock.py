"""The node's clock (wall and monotonic time), the hybrid logical clock (48-bit milliseconds, 16-bit
counter) and time-sortable identifiers."""

from __future__ import annotations

import os
import threading
import time

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
# A remote timestamp further ahead of our wall clock than this is refused rather than followed.
MAX_DRIFT_MS = 60_000


class Clock:
    """Where a node reads the time (as Synapse's ``hs.get_clock()``): code that judges an expiry or a
    timeout asks ``node.clock`` rather than the system, so a test moves time forward instead of
    sleeping through it (tests/support/clock.py)."""

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def time_ms(self) -> int:
        """Milliseconds since the epoch."""
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for intervals."""
        return time.monotonic()


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
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_SHIFTS = tuple(range(120, -1, -10))


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
    # Two characters (10 bits) per step: 13 look-ups instead of 26 shifts (ids are made per send).
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


def now_ms() -> int:
    """Wall-clock milliseconds since the epoch."""
    return time.time_ns() // 1_000_000
