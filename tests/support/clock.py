"""A node clock a test moves forward: real time plus an offset that `advance()` grows, so the node
keeps working as usual (ids, logs, timers) while expiries and timeouts are reached at once."""

from __future__ import annotations

import time

import pytest

from cryb_node.clock import Clock


class SteppedClock(Clock):
    def __init__(self) -> None:
        self.offset_s = 0.0

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` ahead (never back: the node's monotonic time must not go back)."""
        assert seconds >= 0, "a clock only moves forward"
        self.offset_s += seconds

    def time(self) -> float:
        return time.time() + self.offset_s

    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000 + round(self.offset_s * 1000)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset_s


@pytest.fixture
def clock() -> SteppedClock:
    """The clock to give ``build_app(config, clock=clock)``; ``clock.advance(s)`` instead of sleeping."""
    return SteppedClock()
