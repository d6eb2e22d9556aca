"""The suite's own helpers (tests/support): eventually(), the stepped node clock, the markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryb_node.app import build_app
from cryb_node.appkeys import NODE
from tests.conftest import ROOT, make_config, run_cryb
from tests.support import markers
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


def _helper_that_spawns(tmp: str) -> None:
    run_cryb("doctor", "--data", tmp)


def _test_via_a_helper() -> None:
    _helper_that_spawns("/tmp/x")


def _test_in_process() -> None:
    build_app(make_config(Path("/tmp/x")))


# A list, so the test below (which runs no process) is not itself marked by what it inspects.
SAMPLES = [(_test_via_a_helper, True), (_helper_that_spawns, True), (_test_in_process, False)]


def test_the_process_marker_follows_helpers_to_run_cryb_and_leaves_in_process_tests_alone():
    for func, spawns in SAMPLES:
        assert markers._spawns(func.__code__, func.__globals__, set()) is spawns, func.__name__


def test_make_test_fast_leaves_out_browser_fuzz_and_process_tests(request):
    names = {line.split(":")[0] for line in request.config.getini("markers")}
    assert {"slow", "e2e", "fuzz", "process"} <= names
    makefile = (ROOT / "Makefile").read_text()
    assert 'pytest -q -n 3 -m "not (slow or e2e or fuzz or process)"' in makefile
