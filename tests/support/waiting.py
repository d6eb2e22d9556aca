"""`eventually()`: wait for a condition that something running in the background makes true, by
asking again until it holds or a deadline passes. The one wait of the test suite: a fixed sleep
either wastes time or, on a loaded machine, is too short."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

INTERVAL_S = 0.05


class _Pending:
    """What the last try gave: a falsy value or an AssertionError, for the timeout's message."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: AssertionError | None = None

    def fail(self, what: str, timeout: float) -> AssertionError:
        why = f"{self.error}" if self.error else f"last value {self.value!r}"
        return AssertionError(f"{what} did not hold within {timeout} s ({why})")


def _describe(predicate: Callable[..., Any], what: str | None) -> str:
    return what or getattr(predicate, "__qualname__", repr(predicate))


async def eventually(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    *,
    interval: float = INTERVAL_S,
    what: str | None = None,
) -> Any:
    """Call ``predicate`` (plain or async) until it returns something truthy, and return that.

    A predicate may also assert: an AssertionError counts as "not yet", and the last one is what the
    test fails with once ``timeout`` seconds pass.
    """
    pending = _Pending()
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            pending.value, pending.error = result, None
        except AssertionError as exc:
            pending.error = exc
        if time.monotonic() >= deadline:
            raise pending.fail(_describe(predicate, what), timeout)
        await asyncio.sleep(interval)


def eventually_blocking(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    *,
    interval: float = INTERVAL_S,
    what: str | None = None,
) -> Any:
    """`eventually()` for plain (non-async) tests that wait on another process or thread."""
    pending = _Pending()
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = predicate()
            if result:
                return result
            pending.value, pending.error = result, None
        except AssertionError as exc:
            pending.error = exc
        if time.monotonic() >= deadline:
            raise pending.fail(_describe(predicate, what), timeout)
        time.sleep(interval)
