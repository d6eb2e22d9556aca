"""The suite's own helpers (tests/support): eventually() and the stepped node clock."""

from __future__ import annotations

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.support.waiting import eventually, eventually_blocking


async def test_eventually_returns_the_first_truthy_value_of_a_plain_or_async_predicate():
    tries = iter([0, None, "", 7])
    assert await eventually(lambda: next(tries), 5, interval=0) == 7

    async def later() -> str:
        return "done"

    assert await eventually(later, 1) == "done"


async def test_eventually_fails_with_the_last_assertion_once_the_deadline_passes():
    def never() -> None:
        raise AssertionError("still 3 rows")

    with pytest.raises(AssertionError, match="never did not hold within 0.1 s \\(still 3 rows\\)"):
        await eventually(never, 0.1)
    with pytest.raises(AssertionError, match="the queue to drain did not hold.*last value 0"):
        eventually_blocking(lambda: 0, 0.1, what="the queue to drain")


async def test_a_node_reads_the_time_from_the_clock_it_was_given(aiohttp_client, config, clock):
    client = await aiohttp_client(build_app(config, clock=clock))
    node = client.app[NODE]
    assert node.clock is clock
    before = node.clock.time_ms()
    clock.advance(3600)
    assert node.clock.time_ms() - before >= 3_600_000
    with pytest.raises(AssertionError):
        clock.advance(-1)
